#!/usr/bin/env python3
"""torch SDPA forward+backward beside `attend bench backward`, on the same shapes.

FLOPs as attend counts them: forward 4·B·Hq·N²·D (half causal), backward 2.5× forward.

Two ways to run it:
  bench_sdpa_backward.py SAVED.json [THREADS]
      torch on the rows of a saved `attend bench backward --json` (ours as saved: minutes may
      separate our line and torch's).
  bench_sdpa_backward.py --attend PATH [--threads 2] [--rounds 3] [--lengths 1024,2048]
      alternating rounds per sequence length: `attend bench backward --only fused --lengths N`
      and then torch on the same rows, a few seconds apart; each round gives a ratio, and the
      ratio printed is the median of the rounds' ratios, with their range (each side's GFLOP/s:
      the median of its rounds). A machine whose speed drifts over minutes (a shared VM) then
      moves both sides of a ratio together. Writes the rows as JSON with --json-out FILE.
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


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("saved", nargs="?", help="a saved `attend bench backward --json` file")
    p.add_argument("threads_positional", nargs="?", type=int, metavar="THREADS")
    p.add_argument("--attend", help="an attend binary: alternate it with torch round by round")
    p.add_argument("--threads", type=int, help="threads for both sides (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per length (with --attend)")
    p.add_argument("--lengths", default="128,512,1024,2048,4096", help="sequence lengths (with --attend)")
    p.add_argument("--json-out", help="write the rows as JSON here")
    args = p.parse_args()
    if (args.saved is None) == (args.attend is None):
        p.error("give either a saved JSON file or --attend PATH")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    args.threads = args.threads or args.threads_positional or 2
    return args


args = parse_arguments()
for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[name] = str(args.threads)
import torch  # noqa: E402

torch.set_num_threads(args.threads)


def median_time(fn, reps=3):
    fn()
    fn()
    ts = []
    for _ in range(reps):
        s = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - s)
    return sorted(ts)[len(ts) // 2]


def torch_row(r):
    """torch's forward and forward+backward GFLOP/s (and f+b milliseconds) on one of our rows."""
    b, hq, hkv, n, d = r["batch"], r["queryHeads"], r["keyValueHeads"], r["length"], r["headDimension"]
    g = torch.Generator().manual_seed(0)
    q = torch.randn(b, hq, n, d, generator=g)
    k = torch.randn(b, hkv, n, d, generator=g)
    v = torch.randn(b, hkv, n, d, generator=g)
    flops = 4.0 * b * hq * n * n * d * (0.5 if r["causal"] else 1.0)
    kw = dict(is_causal=r["causal"], enable_gqa=(hq != hkv))
    with torch.inference_mode():
        tf = median_time(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, **kw))
    qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))
    go = torch.randn(b, hq, n, d, generator=g)

    def fb():
        o = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, **kw)
        o.backward(go)
        qg.grad = kg.grad = vg.grad = None

    tfb = median_time(fb)
    return flops / tf / 1e9, 3.5 * flops / tfb / 1e9, tfb * 1e3


def line_for(r, torch_fwd, torch_fb, torch_ms):
    return dict(name=r["name"], oursFwd=r["forwardGFLOPs"], torchFwd=torch_fwd,
                oursFB=r["forwardBackwardGFLOPs"], torchFB=torch_fb,
                oursFBms=r["forwardMilliseconds"] + r["backwardMilliseconds"], torchFBms=torch_ms)


def print_line(line, rounds=None):
    spread = ""
    if rounds and len(rounds) > 1:
        spread = "  rounds " + " ".join(f"{x:.2f}" for x in rounds)
    print(f"{line['name']:34} {line['oursFwd']:9.1f} {line['torchFwd']:9.1f} {line['oursFB']:9.1f} {line['torchFB']:9.1f}"
          f" {line['ratio']:13.2f}x  ours {line['oursFBms']:.1f} ms torch {line['torchFBms']:.1f} ms{spread}", flush=True)


def run_ours(n):
    command = [args.attend, "bench", "backward", "--only", "fused", "--lengths", str(n), "--json",
               "--threads", str(args.threads)]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [r for r in json.loads(out[out.index("["):]) if r["implementation"] == "fused"]


print(describe(args.attend))
mode = f"{args.rounds} alternating rounds per length, ratio = median of the rounds' ratios" if args.attend else "ours from a saved file"
print(f"torch {torch.__version__} threads {torch.get_num_threads()}; {mode}")
print(f"{'case':34} {'ours fwd':>9} {'torch fwd':>9} {'ours f+b':>9} {'torch f+b':>9} {'f+b ours/torch':>14}  (GFLOP/s)")
# global warm-up (thread pool, autograd engine) before the first timed row
_q = torch.randn(1, 8, 256, 64, requires_grad=True)
for _ in range(3):
    torch.nn.functional.scaled_dot_product_attention(_q, _q, _q, is_causal=True).sum().backward()

out = []
if args.saved:
    for r in (r for r in json.load(open(args.saved)) if r["implementation"] == "fused"):
        if r["length"] > 8192:
            continue
        line = line_for(r, *torch_row(r))
        line["ratio"] = line["oursFB"] / line["torchFB"]
        out.append(line)
        print_line(line)
    json.dump(out, open(args.json_out or args.saved.replace(".json", ".torch.json"), "w"), indent=1)
else:
    for n in (int(x) for x in args.lengths.split(",")):
        per_case = {}
        for _ in range(args.rounds):
            for r in run_ours(n):
                line = line_for(r, *torch_row(r))
                line["ratio"] = line["oursFB"] / line["torchFB"]
                per_case.setdefault(r["name"], []).append(line)
        for name, lines in per_case.items():
            merged = {"name": name}
            for key in ("oursFwd", "torchFwd", "oursFB", "torchFB", "oursFBms", "torchFBms", "ratio"):
                merged[key] = statistics.median(x[key] for x in lines)
            merged["rounds"] = [x["ratio"] for x in lines]
            out.append(merged)
            print_line(merged, merged["rounds"])
    if args.json_out:
        json.dump(out, open(args.json_out, "w"), indent=1)
