#!/usr/bin/env python3
"""torch SDPA forward+backward on the shapes of a saved `attend bench backward --json`.
FLOPs as attend counts: forward 4·B·Hq·N²·D (half causal), backward 2.5× forward."""
import json, sys, time, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ[n] = str(threads)
import torch
torch.set_num_threads(threads)
rows = [r for r in json.load(open(sys.argv[1])) if r["implementation"] == "fused"]
def med(fn, reps=3):
    fn(); fn(); ts = []
    for _ in range(reps):
        s = time.perf_counter(); fn(); ts.append(time.perf_counter() - s)
    return sorted(ts)[len(ts)//2]
print(describe())
print(f"torch {torch.__version__} threads {torch.get_num_threads()}")
print(f"{'case':34} {'ours fwd':>9} {'torch fwd':>9} {'ours f+b':>9} {'torch f+b':>9} {'f+b ours/torch':>14}  (GFLOP/s)")
out = []
# global warm-up (thread pool, autograd engine) before the first timed row
_q = torch.randn(1, 8, 256, 64, requires_grad=True)
for _ in range(3): torch.nn.functional.scaled_dot_product_attention(_q, _q, _q, is_causal=True).sum().backward()
for r in rows:
    b, hq, hkv, n, d = r["batch"], r["queryHeads"], r["keyValueHeads"], r["length"], r["headDimension"]
    if n > 8192: continue
    g = torch.Generator().manual_seed(0)
    q = torch.randn(b, hq, n, d, generator=g); k = torch.randn(b, hkv, n, d, generator=g); v = torch.randn(b, hkv, n, d, generator=g)
    fl = 4.0 * b * hq * n * n * d * (0.5 if r["causal"] else 1.0)
    kw = dict(is_causal=r["causal"], enable_gqa=(hq != hkv))
    with torch.inference_mode():
        tf = med(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, **kw))
    qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))
    go = torch.randn(b, hq, n, d, generator=g)
    def fb():
        o = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, **kw)
        o.backward(go)
        qg.grad = kg.grad = vg.grad = None
    tfb = med(fb)
    line = dict(name=r["name"], oursFwd=r["forwardGFLOPs"], torchFwd=fl/tf/1e9, oursFB=r["forwardBackwardGFLOPs"], torchFB=3.5*fl/tfb/1e9,
                oursFBms=r["forwardMilliseconds"]+r["backwardMilliseconds"], torchFBms=tfb*1e3)
    out.append(line)
    print(f"{r['name']:34} {line['oursFwd']:9.1f} {line['torchFwd']:9.1f} {line['oursFB']:9.1f} {line['torchFB']:9.1f} {line['oursFB']/line['torchFB']:13.2f}x  ours {line['oursFBms']:.1f} ms torch {line['torchFBms']:.1f} ms", flush=True)
json.dump(out, open(sys.argv[1].replace(".json", ".torch.json"), "w"), indent=1)
