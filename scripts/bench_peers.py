#!/usr/bin/env python3
"""Run `attend bench`'s shapes through numpy (and torch / onnxruntime when importable) and
print our GFLOP/s beside theirs, with the ratios.

The shapes come from our own `attend bench --json` rows, so both sides run exactly the same
problems:
  attention: softmax(Q·Kᵀ/√D)·V, float32, materialised scores (numpy), causal by masking
             (bottom-right aligned; here Lq = Lk, so it is the usual lower triangle);
             grouped-query cases repeat each K/V head for its query heads.
  gemm:      C = A·B (or A·Bᵀ) in float32: numpy's matmul is OpenBLAS/MKL sgemm.
Peers run with the same thread count as ours (OMP/OPENBLAS/MKL_NUM_THREADS, torch threads,
onnxruntime intra-op threads), set before the libraries load.

Usage:
  scripts/bench_peers.py                      # builds and runs `swift run -c release attend bench --json`
  scripts/bench_peers.py --ours bench.json    # reuse a saved `attend bench --json` output
  scripts/bench_peers.py --quick              # small shapes only (passes --quick to attend)
The GEMM lines are re-measured side by side: our `attend bench --only gemm` and numpy alternate
for --gemm-rounds rounds and each side keeps its best, so background load hits both alike.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", help="a saved `attend bench --json` file (default: run attend)")
    p.add_argument("--attend", help="path to a built attend binary (default: swift run -c release attend)")
    p.add_argument("--quick", action="store_true", help="small shapes only")
    p.add_argument("--threads", type=int, help="threads for every side (default: the count attend used)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per peer line (median)")
    p.add_argument("--gemm-rounds", type=int, default=3, help="alternating ours/numpy GEMM rounds")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    return p.parse_args()


def attend_command(args, extra):
    if args.attend:
        return [args.attend, "bench"] + extra
    return ["swift", "run", "-c", "release", "attend", "bench"] + extra


def run_attend(args, extra):
    command = attend_command(args, extra + ["--json"])
    if args.threads:
        command += ["--threads", str(args.threads)]
    print("running:", " ".join(command), file=sys.stderr)
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    # `swift run` may print build lines first; the report is the last JSON object.
    return json.loads(out[out.index("{"):])


def load_ours(args):
    if args.ours:
        with open(args.ours) as f:
            return json.load(f)
    return run_attend(args, ["--quick"] if args.quick else [])


def limit_threads(threads):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        os.environ[name] = str(threads)


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


class Peers:
    """numpy always; torch and onnxruntime when importable (silently skipped otherwise)."""

    def __init__(self, threads):
        import numpy
        self.np = numpy
        self.threads = threads
        self.torch = self.ort = self.onnx = None
        try:
            import torch
            torch.set_num_threads(threads)
            self.torch = torch
        except Exception:
            pass
        try:
            import onnx
            import onnxruntime
            self.onnx, self.ort = onnx, onnxruntime
        except Exception:
            pass

    def inputs(self, row):
        np = self.np
        rng = np.random.default_rng(0)
        b, hq, hkv = row["batch"], row["queryHeads"], row["keyValueHeads"]
        n, d = row["length"], row["headDimension"]
        q = rng.standard_normal((b, hq, n, d), dtype=np.float32)
        k = rng.standard_normal((b, hkv, n, d), dtype=np.float32)
        v = rng.standard_normal((b, hkv, n, d), dtype=np.float32)
        return q, k, v

    def numpy_attention(self, row, repeats):
        np = self.np
        q, k, v = self.inputs(row)
        group = row["queryHeads"] // row["keyValueHeads"]
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        n, scale = row["length"], 1.0 / np.sqrt(row["headDimension"])
        mask = np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1) if row["causal"] else None

        def run():
            s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(scale)
            if mask is not None:
                s += mask
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            return s @ v

        return median_seconds(run, repeats)

    def torch_attention(self, row, repeats):
        torch = self.torch
        q, k, v = (torch.from_numpy(x) for x in self.inputs(row))
        group = row["queryHeads"] // row["keyValueHeads"]
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        sdpa = torch.nn.functional.scaled_dot_product_attention
        with torch.inference_mode():
            return median_seconds(lambda: sdpa(q, k, v, is_causal=row["causal"]), repeats)

    def onnx_attention(self, row, repeats):
        """MatMul → Mul → (Add mask) → Softmax → MatMul, the graph exporters emit for SDPA."""
        np, onnx, ort = self.np, self.onnx, self.ort
        from onnx import TensorProto, helper
        q, k, v = self.inputs(row)
        group = row["queryHeads"] // row["keyValueHeads"]
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        n = row["length"]
        nodes = [
            helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
            helper.make_node("MatMul", ["q", "kt"], ["s"]),
            helper.make_node("Mul", ["s", "scale"], ["ss"]),
        ]
        inits = [helper.make_tensor("scale", TensorProto.FLOAT, [], [1.0 / float(np.sqrt(row["headDimension"]))])]
        last = "ss"
        if row["causal"]:
            mask = np.triu(np.full((n, n), -1e30, dtype=np.float32), 1)
            inits.append(onnx.numpy_helper.from_array(mask, "mask"))
            nodes.append(helper.make_node("Add", ["ss", "mask"], ["sm"]))
            last = "sm"
        nodes += [helper.make_node("Softmax", [last], ["p"], axis=-1), helper.make_node("MatMul", ["p", "v"], ["o"])]
        io = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
        graph = helper.make_graph(nodes, "sdpa", [io("q"), io("k"), io("v")], [io("o")], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feeds = {"q": q, "k": k, "v": v}
        return median_seconds(lambda: session.run(None, feeds), repeats)

    def numpy_gemm(self, row, repeats):
        np = self.np
        rng = np.random.default_rng(0)
        a = rng.standard_normal((row["m"], row["k"]), dtype=np.float32)
        if row.get("transposeB"):
            b = rng.standard_normal((row["n"], row["k"]), dtype=np.float32)
            return median_seconds(lambda: a @ b.T, repeats)
        b = rng.standard_normal((row["k"], row["n"]), dtype=np.float32)
        return median_seconds(lambda: a @ b, repeats)


def gflops(row, seconds):
    return row["flops"] / seconds / 1e9 if seconds else None


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def main():
    args = parse_arguments()
    ours = load_ours(args)
    threads = args.threads or ours["threads"]
    limit_threads(threads)
    peers = Peers(threads)
    table = []

    for row in ours["rows"]:
        if row["kind"] != "attention" or row["implementation"] != "fused":
            continue
        reference = next(r for r in ours["rows"] if r["kind"] == "attention"
                         and r["implementation"] == "reference" and r["name"] == row["name"])
        print("peers:", row["name"], file=sys.stderr)
        line = {"kind": "attention", "name": row["name"], "fused": row.get("gflops"),
                "reference": reference.get("gflops"),
                "numpy": gflops(row, peers.numpy_attention(row, args.repeats))}
        if peers.torch:
            line["torch"] = gflops(row, peers.torch_attention(row, args.repeats))
        if peers.ort:
            line["onnxruntime"] = gflops(row, peers.onnx_attention(row, args.repeats))
        table.append(line)

    gemm_rows = [r for r in ours["rows"] if r["kind"] == "gemm"]
    best = {r["name"]: (r.get("gflops") or 0.0, 0.0) for r in gemm_rows}
    # Side by side: alternate our GEMM run and numpy's, each side keeping its best round.
    for round_index in range(args.gemm_rounds if gemm_rows else 0):
        fresh = {}
        if not args.ours:
            report = run_attend(args, ["--only", "gemm"] + (["--quick"] if args.quick else []))
            fresh = {r["name"]: r["gflops"] for r in report["rows"] if r["kind"] == "gemm"}
        for r in gemm_rows:
            print(f"peers: gemm {r['name']} round {round_index + 1}", file=sys.stderr)
            theirs = gflops(r, peers.numpy_gemm(r, max(args.repeats, 5)))
            mine, numpy_best = best[r["name"]]
            best[r["name"]] = (max(mine, fresh.get(r["name"], 0.0)), max(numpy_best, theirs))
    for r in gemm_rows:
        table.append({"kind": "gemm", "name": r["name"], "ours": best[r["name"]][0], "numpy": best[r["name"]][1]})

    if args.json:
        print(json.dumps({"threads": threads, "simd": ours["simd"], "rows": table}, indent=2))
        return
    print(describe(args.attend))
    print(f"threads {threads}, our SIMD path {ours['simd']}, {ours['configuration']} build; GFLOP/s (higher is better)")
    extra = [name for name in ("torch", "onnxruntime") if any(name in l for l in table)]
    head = f"{'attention case':28} {'fused':>7} {'ref':>7} {'numpy':>7} {'fused/np':>8}"
    for name in extra:
        head += f" {name[:7]:>7} {'fused/' + name[:4]:>10}"
    print(head)
    for l in table:
        if l["kind"] != "attention":
            continue
        ratio = l["fused"] / l["numpy"] if l["fused"] and l["numpy"] else None
        text = f"{l['name']:28} {fmt(l['fused']):>7} {fmt(l['reference']):>7} {fmt(l['numpy']):>7} {fmt(ratio, 2):>8}"
        for name in extra:
            peer = l.get(name)
            text += f" {fmt(peer):>7} {fmt(l['fused'] / peer if peer and l['fused'] else None, 2):>10}"
        print(text)
    print(f"\n{'gemm (m×n×k)':28} {'ours':>7} {'numpy':>7} {'ours/np':>8}")
    for l in table:
        if l["kind"] == "gemm":
            ratio = l["ours"] / l["numpy"] if l["numpy"] else None
            print(f"{l['name']:28} {fmt(l['ours']):>7} {fmt(l['numpy']):>7} {fmt(ratio, 2):>8}")
    for row in ours["rows"]:
        if row["kind"] == "long":
            result = f"{fmt(row.get('milliseconds'), 0)} ms, {fmt(row.get('gflops'))} GFLOP/s, " \
                     f"+{fmt(row.get('peakExtraMiB'))} MiB" if row.get("milliseconds") else "not run"
            print(f"\nlong {row['name']} (ours only; numpy would need the 137 GB score matrix): {result}"
                  + (f" — {row['note']}" if row.get("note") else ""))


if __name__ == "__main__":
    main()
