#!/usr/bin/env python3
"""sentence-transformers on `attend bench precision`'s encoder texts: fp32 and bf16 autocast."""
import json, sys, time, os, statistics
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402
threads = 2
for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[n] = str(threads)
import torch, numpy as np
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer
model_dir, texts_file = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
t = json.load(open(texts_file))
short = t["batch"] * 20
long = [f"Text {i}. " + t["long"] for i in range(24)]
st = SentenceTransformer(model_dir, device="cpu")
def med(fn):
    fn(); ts = []
    for _ in range(reps):
        s = time.perf_counter(); fn(); ts.append(time.perf_counter() - s)
    return statistics.median(ts)
print(describe())
print(f"torch {torch.__version__} threads {torch.get_num_threads()}, median of {reps}, max_seq_length {st.max_seq_length}")
for name, texts in [("640 short sentences", short), ("24 texts of 256 pieces", long)]:
    with torch.inference_mode():
        ref = st.encode(texts, batch_size=32)
        t32 = med(lambda: st.encode(texts, batch_size=32))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf = st.encode(texts, batch_size=32, convert_to_numpy=False)
            t16 = med(lambda: st.encode(texts, batch_size=32))
    bf = np.stack([x.float().numpy() for x in bf])
    cos = (ref * bf).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(bf, axis=1)
    print(f"{name:26} fp32 {t32*1e3:8.1f} ms {len(texts)/t32:8.1f} texts/s | bf16 autocast {t16*1e3:8.1f} ms {len(texts)/t16:8.1f} texts/s | bf16/fp32 {t32/t16:.2f}x | min cos {cos.min():.4f}", flush=True)
