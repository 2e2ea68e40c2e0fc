#!/usr/bin/env python3
"""Our kernels at each SIMD level beside numpy, in one run (GEMM and the fused forward).

For every round, `attend bench --only gemm` and `attend bench --only attention` run once per
level (ATTEND_SIMD=avx2, avx512, ...), alternating with numpy on the same shapes; each side keeps
its best time over the rounds, so background load on a shared machine hits every side alike.
Prints the CPU model and the levels above a Markdown table of milliseconds and ratios.

Usage:
  scripts/bench_simd_levels.py [--attend .build/release/attend] [--levels avx2,avx512]
                               [--rounds 3] [--threads 2] [--no-attention]
For numpy's best kernel, run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bench_simd_levels.py
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402

GEMM = ["512×512×512", "1024×1024×1024", "768×128×384", "1×1536×384 A·Bᵀ"]
ATTENTION = ["N=1024 D=64 full", "N=2048 D=64 full", "N=1024 D=64 causal", "N=2048 D=64 causal"]


def arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attend", default=".build/release/attend")
    p.add_argument("--levels", default="avx2,avx512")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-attention", action="store_true")
    return p.parse_args()


def ours(args, level, part):
    env = dict(os.environ, ATTEND_SIMD=level)
    env.pop("ATTEND_NO_SIMD", None)
    command = [args.attend, "bench", "--only", part, "--json", "--repeats", "3", "--threads", str(args.threads)]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out[out.index("{"):])


def best_of(fn, repeats=10):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    args = arguments()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    import numpy as np
    levels = args.levels.split(",")
    rng = np.random.default_rng(0)
    best = {}   # (side, row name) -> ms
    simd_names = {}
    cpu = "?"

    def keep(side, name, ms):
        best[(side, name)] = min(best.get((side, name), float("inf")), ms)

    def numpy_gemm(name):
        m, n, k = (int(x) for x in name.split(" ")[0].split("×"))
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if "ᵀ" in name else (k, n), dtype=np.float32)
        return best_of((lambda: a @ b.T) if "ᵀ" in name else (lambda: a @ b))

    def numpy_attention(name):
        n = int(name.split(" ")[0][2:])
        causal = "causal" in name
        q, k, v = (rng.standard_normal((1, 8, n, 64), dtype=np.float32) for _ in range(3))
        mask = np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1) if causal else None

        def run():
            s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(0.125)
            if mask is not None:
                s += mask
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            return s @ v
        return best_of(run, 5)

    parts = ["gemm"] + ([] if args.no_attention else ["attention"])
    for r in range(args.rounds):
        for part in parts:
            for level in levels:
                report = ours(args, level, part)
                simd_names[level] = report["simd"]
                cpu = report.get("cpu", cpu)
                for row in report["rows"]:
                    if row.get("implementation", "fused") != "reference":
                        keep(level, row["name"], row["milliseconds"])
            for name in (GEMM if part == "gemm" else ATTENTION):
                keep("numpy", name, numpy_gemm(name) if part == "gemm" else numpy_attention(name))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(describe(args.attend))
    print(f"CPU: {cpu}; {args.threads} threads; best of {args.rounds} rounds")
    print("SIMD levels: " + ", ".join(f"{level} → {simd_names[level]}" for level in levels))
    print(f"numpy {np.__version__}: " + str(np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("version", "")))
    header = "| work | " + " | ".join(f"ours {l} ms" for l in levels) + " | numpy ms | " \
        + " | ".join(f"numpy/ours {l}" for l in levels) + f" | {levels[-1]}/{levels[0]} speed-up |"
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    names = GEMM + ([] if args.no_attention else ATTENTION)
    for name in names:
        ms = [best.get((l, name)) for l in levels]
        peer = best.get(("numpy", name))
        if any(x is None for x in ms) or peer is None:
            continue
        label = ("GEMM " if name in GEMM else "fused forward B=1 H=8 D=64, ") + name
        print(f"| {label} | " + " | ".join(f"{x:.3f}" for x in ms) + f" | {peer:.3f} | "
              + " | ".join(f"{peer / x:.2f}" for x in ms) + f" | {ms[0] / ms[-1]:.2f} |")


if __name__ == "__main__":
    main()
