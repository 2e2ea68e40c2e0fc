#!/usr/bin/env python3
"""nanoGPT (model.py essentials) `baby`: 4 layers, 4 heads, width 128, MLP 512, context 64, batch 12,
byte-level vocab 256, dropout 0, bias False, tied embeddings, AdamW(0.9,0.99, wd 0.1 on matrices), clip 1.0,
eager PyTorch (nanoGPT's CPU config has compile=False). Prints tokens/s over steps after 5 warm-up steps."""
import math, sys, time, os
threads = 2
for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[n] = str(threads)
import torch, torch.nn as nn, torch.nn.functional as F
import numpy as np
torch.set_num_threads(threads); torch.manual_seed(1337)
L, H, C, T, B, V = 4, 4, 128, 64, 12, 256
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 60
class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1 = nn.LayerNorm(C, bias=False); s.qkv = nn.Linear(C, 3*C, bias=False); s.proj = nn.Linear(C, C, bias=False)
        s.ln2 = nn.LayerNorm(C, bias=False); s.fc = nn.Linear(C, 4*C, bias=False); s.fc2 = nn.Linear(4*C, C, bias=False)
    def forward(s, x):
        b, t, _ = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C//H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, C)
        x = x + s.proj(y)
        return x + s.fc2(F.gelu(s.fc(s.ln2(x))))
class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte = nn.Embedding(V, C); s.wpe = nn.Embedding(T, C); s.blocks = nn.ModuleList(Block() for _ in range(L))
        s.lnf = nn.LayerNorm(C, bias=False); s.head = nn.Linear(C, V, bias=False); s.head.weight = s.wte.weight
    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks: x = b(x)
        logits = s.head(s.lnf(x))
        return F.cross_entropy(logits.view(-1, V), tgt.view(-1))
data = np.frombuffer(open(sys.argv[1], "rb").read(), dtype=np.uint8)
train = torch.from_numpy(data[: int(0.9 * len(data))].astype(np.int64))
m = GPT()
for name, p in m.named_parameters():
    if p.dim() >= 2: nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if name.endswith(("proj.weight", "fc2.weight")) else 0.02)
print("parameters", sum(p.numel() for p in m.parameters()), "torch", torch.__version__, "threads", torch.get_num_threads())
decay = [p for p in m.parameters() if p.dim() >= 2]; nodecay = [p for p in m.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
def batch():
    ix = torch.randint(len(train) - T - 1, (B,))
    return torch.stack([train[i:i+T] for i in ix]), torch.stack([train[i+1:i+T+1] for i in ix])
warm = 5
for step in range(steps):
    if step == warm: start = time.perf_counter()
    x, y = batch()
    loss = m(x, y); opt.zero_grad(set_to_none=True); loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
el = time.perf_counter() - start
n = steps - warm
print(f"steps {n} (after {warm} warm-up): {el/n*1e3:.1f} ms/step, {n*B*T/el:.0f} tokens/s, last loss {loss.item():.3f}")
