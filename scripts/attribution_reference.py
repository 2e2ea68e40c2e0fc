#!/usr/bin/env python3
"""An independent check of `attend attribute` on a BERT encoder, in plain numpy.

Reads model.safetensors itself (no torch), runs the BERT forward in float64 with an explicit
[T, T] mask per run, one run per knockout and per head ablation (no batching), and prints the
largest difference from `attend attribute --json`'s knockout and headAblation.

Usage: python3 scripts/attribution_reference.py MODEL_DIR "TEXT" FOCUS [ATTEND_BINARY]
(the token ids come from `attend embed --json`, so only the arithmetic is checked here).
"""
import json
import math
import subprocess
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue  # e.g. the I64 position_ids buffer
        a, b = info["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


erf = np.vectorize(math.erf)


def forward(p, cfg, ids, mask, ablate=None):
    """Last hidden states [T, H]; mask [T, T] of 0/1; ablate = (layer, head) or None."""
    t, h = len(ids), cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    d = h // heads
    eps = cfg["layer_norm_eps"]
    g = lambda name: p[name]
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:t] \
        + g("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    for l in range(cfg["num_hidden_layers"]):
        pre = f"encoder.layer.{l}."
        lin = lambda y, n: y @ g(pre + n + ".weight").T + g(pre + n + ".bias")
        q, k, v = (lin(x, "attention.self." + n).reshape(t, heads, d).transpose(1, 0, 2) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.where(mask[None] > 0, s, -np.inf)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        z = a @ v                                   # [heads, T, d]
        if ablate is not None and ablate[0] == l:
            z[ablate[1]] = 0
        z = z.transpose(1, 0, 2).reshape(t, h)
        x = layer_norm(lin(z, "attention.output.dense") + x, g(pre + "attention.output.LayerNorm.weight"),
                       g(pre + "attention.output.LayerNorm.bias"), eps)
        inner = lin(x, "intermediate.dense")
        inner = 0.5 * inner * (1 + erf(inner / math.sqrt(2)))
        x = layer_norm(lin(inner, "output.dense") + x, g(pre + "output.LayerNorm.weight"), g(pre + "output.LayerNorm.bias"), eps)
    return x


def cosine_distance(a, b):
    return 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


def main():
    model, text, focus_word = sys.argv[1], sys.argv[2], sys.argv[3]
    attend = sys.argv[4] if len(sys.argv) > 4 else ".build/release/attend"
    ids = json.loads(subprocess.check_output([attend, "embed", "--model", model, "--json", text]))["tokenIDs"][0]
    out = json.loads(subprocess.check_output([attend, "attribute", "--model", model, "--focus", focus_word, "--json", text]))
    cfg = json.load(open(f"{model}/config.json"))
    p = load_safetensors(f"{model}/model.safetensors")
    p = {k.removeprefix("bert."): v for k, v in p.items()}
    t, f = len(ids), out["focus"]
    full = np.ones((t, t))
    base = forward(p, cfg, ids, full)
    knockout = []
    for j in range(t):
        m = full.copy(); m[f, j] = 0
        knockout.append(cosine_distance(base[f], forward(p, cfg, ids, m)[f]))
    pooled = lambda hs: hs.mean(0) / np.linalg.norm(hs.mean(0))
    ablation = [[cosine_distance(pooled(base), pooled(forward(p, cfg, ids, full, (l, hh))))
                 for hh in range(cfg["num_attention_heads"])] for l in range(cfg["num_hidden_layers"])]
    dk = np.abs(np.array(knockout) - np.array(out["knockout"]))
    da = np.abs(np.array(ablation) - np.array(out["headAblation"]))
    print(f"tokens: {' '.join(out['tokens'])}; focus {f} ({out['tokens'][f]})")
    print(f"knockout (float64 numpy): {np.round(knockout, 4).tolist()}")
    print(f"knockout max |numpy - attend| = {dk.max():.2e} (largest effect {max(knockout):.4f})")
    print(f"head ablation max |numpy - attend| = {da.max():.2e} (largest effect {np.max(ablation):.4f})")


if __name__ == "__main__":
    main()
