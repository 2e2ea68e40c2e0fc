#!/usr/bin/env python3
"""TinyLLM `baby` against the same model in PyTorch: training speed and validation loss after a
full run (issue 12's training comparison), side by side in one run.

The PyTorch side is nanoGPT's model.py and train.py recipe set to what `attend train --preset
baby` does, so the losses compare:
  4 layers, 4 heads, width 128, MLP 512 (GELU, tanh form), context 64, byte vocabulary 256;
  pre-LayerNorm (ε 1e-5) blocks with biases everywhere, learned positions, output head tied to
  the token embedding; weights N(0, 0.02²), the residual projections N(0, (0.02/√(2·4))²),
  biases 0; AdamW β (0.9, 0.99), ε 1e-8, weight decay 0.1 on every ≥2-D tensor (embeddings
  included); global gradient-norm clip 1.0; nanoGPT's get_lr (warmup 100 steps, or all of a shorter run, as TrainingOptions;
  cosine to 1e-4 at the last step); batches of 12 random windows from the first 90% of the corpus; dropout 0.
Validation loss is measured the way `attend eval --split validation` does: the last 10% cut
into consecutive non-overlapping windows of 64 bytes (the last shorter), every byte after the
first predicted once, mean negative log-likelihood in nats/byte.

Both sides use 2 threads. Tokens/s is training steps only (ours: the last step line of
`attend train --json`, cumulative; PyTorch: after 5 warm-up steps). Seeds differ in meaning
between the two sides, so the loss is compared over several seeds each.

usage: compare_baby_training.py ATTEND_BINARY CORPUS [--steps 2000] [--seeds 1337,42] [--threads 2]
"""
import argparse, json, math, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine_header import describe  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("attend"); ap.add_argument("corpus")
ap.add_argument("--steps", type=int, default=2000)
ap.add_argument("--seeds", default="1337,42")
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ[n] = str(args.threads)
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(args.threads)

L, H, C, T, B, V = 4, 4, 128, 64, 12, 256
PEAK, FLOOR, WARMUP = 1e-3, 1e-4, 100

class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1 = nn.LayerNorm(C); s.qkv = nn.Linear(C, 3 * C); s.proj = nn.Linear(C, C)
        s.ln2 = nn.LayerNorm(C); s.fc = nn.Linear(C, 4 * C); s.fc2 = nn.Linear(4 * C, C)
    def forward(s, x):
        b, t, _ = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, C)
        x = x + s.proj(y)
        return x + s.fc2(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte = nn.Embedding(V, C); s.wpe = nn.Embedding(T, C); s.blocks = nn.ModuleList(Block() for _ in range(L))
        s.lnf = nn.LayerNorm(C); s.head = nn.Linear(C, V, bias=False); s.head.weight = s.wte.weight
    def forward(s, idx):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks: x = b(x)
        return s.head(s.lnf(x))

def get_lr(step, steps):   # nanoGPT's, as LearningRateSchedule.swift; TrainingOptions caps warmup at steps
    warmup = min(WARMUP, steps)
    if step < warmup: return PEAK * (step + 1) / (warmup + 1)
    if step > steps or steps == warmup: return FLOOR
    r = (step - warmup) / (steps - warmup)
    return FLOOR + 0.5 * (1 + math.cos(math.pi * r)) * (PEAK - FLOOR)

data = np.frombuffer(open(args.corpus, "rb").read(), dtype=np.uint8)
cut = int(0.9 * len(data))
train, valid = torch.from_numpy(data[:cut].astype(np.int64)), data[cut:].astype(np.int64)

def validation_loss(model):
    model.eval(); total, count, s = 0.0, 0, 0
    windows = []
    while s + 1 < len(valid):
        n = min(T, len(valid) - 1 - s); windows.append((s, n)); s += n
    with torch.no_grad():
        full = [w for w in windows if w[1] == T]
        for i in range(0, len(full), 64):
            chunk = full[i:i + 64]
            x = torch.tensor(np.stack([valid[a:a + T] for a, _ in chunk])); y = torch.tensor(np.stack([valid[a + 1:a + T + 1] for a, _ in chunk]))
            total += F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").item(); count += y.numel()
        for a, n in windows:
            if n == T: continue
            x = torch.tensor(valid[a:a + n])[None]; y = torch.tensor(valid[a + 1:a + n + 1])[None]
            total += F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").item(); count += y.numel()
    model.train()
    return total / count

def torch_run(seed):
    torch.manual_seed(seed)
    m = GPT()
    for name, p in m.named_parameters():
        if name.endswith("bias"): nn.init.zeros_(p)
        elif p.dim() >= 2: nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if name.endswith(("proj.weight", "fc2.weight")) else 0.02)
    decay = [p for p in m.parameters() if p.dim() >= 2]; nodecay = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=PEAK, betas=(0.9, 0.99), eps=1e-8)
    parameters = sum(p.numel() for p in m.parameters())
    warm, start = 5, None
    for step in range(args.steps):
        if step == warm: start = time.perf_counter()
        for g in opt.param_groups: g["lr"] = get_lr(step, args.steps)
        ix = torch.randint(len(train) - T - 1, (B,))
        x = torch.stack([train[i:i + T] for i in ix]); y = torch.stack([train[i + 1:i + T + 1] for i in ix])
        loss = F.cross_entropy(m(x).view(-1, V), y.view(-1))
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    elapsed = time.perf_counter() - start
    return dict(parameters=parameters, tokensPerSecond=(args.steps - warm) * B * T / elapsed, validationLoss=validation_loss(m))

def ours_run(seed):
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, ATTEND_THREADS=str(args.threads))
        out = subprocess.run([args.attend, "train", "--corpus", args.corpus, "--preset", "baby", "--steps", str(args.steps),
                              "--seed", str(seed), "--out", os.path.join(d, "run"), "--json", "--eval-interval", "0", "--checkpoint-interval", "0"],
                             env=env, capture_output=True, text=True, check=True).stdout
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        start = next(e for e in events if e["event"] == "start")
        rate = [e["tokensPerSecond"] for e in events if e["event"] == "step"][-1]
        ev = subprocess.run([args.attend, "eval", "--model", os.path.join(d, "run"), "--corpus", args.corpus,
                             "--split", "validation", "--json"], env=env, capture_output=True, text=True, check=True).stdout
        return dict(parameters=start["parameters"], tokensPerSecond=rate, validationLoss=json.loads(ev)["loss"])

machine = describe(args.attend)
print(f"{machine}; torch {torch.__version__}; {args.threads} threads; {args.steps} steps", flush=True)
print(f"{'seed':>6} {'ours tok/s':>11} {'torch tok/s':>12} {'ratio':>6} {'ours val':>9} {'torch val':>10} {'Δ nats/byte':>12}", flush=True)
rows = []
for seed in [int(s) for s in args.seeds.split(",")]:
    o = ours_run(seed); t = torch_run(seed)   # alternate sides seed by seed
    assert o["parameters"] == t["parameters"], f"parameter counts differ: ours {o['parameters']}, torch {t['parameters']}"
    rows.append((seed, o, t))
    print(f"{seed:>6} {o['tokensPerSecond']:>11.0f} {t['tokensPerSecond']:>12.0f} {o['tokensPerSecond'] / t['tokensPerSecond']:>6.2f} "
          f"{o['validationLoss']:>9.4f} {t['validationLoss']:>10.4f} {o['validationLoss'] - t['validationLoss']:>+12.4f}", flush=True)
mo = sum(r[1]["validationLoss"] for r in rows) / len(rows); mt = sum(r[2]["validationLoss"] for r in rows) / len(rows)
ro = sum(r[1]["tokensPerSecond"] for r in rows) / len(rows); rt = sum(r[2]["tokensPerSecond"] for r in rows) / len(rows)
print(f"{'mean':>6} {ro:>11.0f} {rt:>12.0f} {ro / rt:>6.2f} {mo:>9.4f} {mt:>10.4f} {mo - mt:>+12.4f}")
print(json.dumps(dict(machine=machine, torch=torch.__version__, steps=args.steps,
                      rows=[dict(seed=s, ours=o, torch=t) for s, o, t in rows])))
