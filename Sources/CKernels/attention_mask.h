// Private to CKernels: the one C statement of which keys a query may see and how a raw score is
// finished (ALiBi, element mask), shared by the fused forward and backward. The Swift
// specification is AttentionMask.keyRange(batch:query:queries:keys:); the tests check the
// kernels against it and against an independent Float64 reference.
#ifndef AK_ATTENTION_MASK_H
#define AK_ATTENTION_MASK_H

#include "include/ak_attention.h"
#include <math.h>

/// First key query i may attend by position (sliding window), ≥ 0.
static inline long ak_key_lo(const ak_attention_problem *p, long i) {
    if (p->window <= 0) return 0;
    const long lo = i + (p->lk - p->lq) + 1 - p->window;
    return lo > 0 ? lo : 0;
}

/// One past the last key query i may attend by position (causal, key padding), ≥ 0.
static inline long ak_key_hi(const ak_attention_problem *p, long i) {
    long hi = p->causal ? i + (p->lk - p->lq) + 1 : p->lk;
    if (hi > p->key_limit) hi = p->key_limit;
    return hi > 0 ? hi : 0;
}

/// Sets s[0 .. lo) and s[hi .. n) to −inf, lo clamped to [0, n] and hi to [lo, n]: one
/// contiguous run of a score tile (a key row of the backward, a query column of the forward)
/// outside the range its positional rule allows.
static inline void ak_forbid_outside(float *s, long n, long lo, long hi) {
    lo = lo < 0 ? 0 : (lo > n ? n : lo);
    hi = hi < lo ? lo : (hi > n ? n : hi);
    for (long t = 0; t < lo; t++) s[t] = -INFINITY;
    for (long t = hi; t < n; t++) s[t] = -INFINITY;
}

/// Whether the problem adds anything to raw scores (ALiBi or an element mask).
static inline int ak_has_score_bias(const ak_attention_problem *p) {
    return p->alibi_slope != 0.0f || p->mask_kind != AK_MASK_NONE;
}

/// The finished score of query i and key j from the raw scaled score x:
/// x − slope·|i + Lk − Lq − j| + additive[i, j], or −∞ where a boolean mask forbids the pair.
/// Positional rules (ak_key_lo / ak_key_hi) are applied by the callers, which skip whole tiles
/// with them.
static inline float ak_finish_score(const ak_attention_problem *p, long i, long j, float x) {
    if (p->alibi_slope != 0.0f) {
        const long distance = i + (p->lk - p->lq) - j;
        x -= p->alibi_slope * (float)(distance < 0 ? -distance : distance);
    }
    if (p->mask_kind != AK_MASK_NONE) {
        const float m = p->mask[i * p->mask_stride_i + j * p->mask_stride_j];
        if (p->mask_kind == AK_MASK_ADDITIVE) x += m;
        else if (m == 0.0f) x = -INFINITY;
    }
    return x;
}

#endif
