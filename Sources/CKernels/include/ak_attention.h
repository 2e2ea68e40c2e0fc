#ifndef AK_ATTENTION_H
#define AK_ATTENTION_H

#include <stddef.h>

// Fused scaled dot-product attention (FlashAttention-2 forward), one query block at a time.
//
// Dimensions: Lq queries, Lk keys, D query/key width, Dv value width. The caller (Swift)
// picks the (batch, query head) and offsets every pointer to it; the kernel never allocates,
// never starts threads, and touches only the rows it is given.

/// What `mask` holds (`ak_attention_problem.mask_kind`).
typedef enum ak_mask_kind {
    AK_MASK_NONE = 0,      ///< no element mask
    AK_MASK_BOOLEAN = 1,   ///< nonzero = may attend
    AK_MASK_ADDITIVE = 2,  ///< added to the scaled score (−∞ forbids)
} ak_mask_kind;

/// Which keys query i may see, for one (batch, query head). Every rule is applied together:
///   key_lo(i) ≤ j < key_hi(i), with
///   key_hi(i) = min(key_limit, causal ? i + (Lk − Lq) + 1 : Lk)
///   key_lo(i) = window > 0 ? i + (Lk − Lq) + 1 − window : 0          (clamped to ≥ 0)
/// plus, when `mask_kind` is AK_MASK_BOOLEAN, mask[i·mask_stride_i + j·mask_stride_j] ≠ 0, and
/// when AK_MASK_ADDITIVE, that element is added to the scaled score. Broadcast axes have stride 0.
/// ALiBi adds −alibi_slope·|i + (Lk − Lq) − j| (0 means no ALiBi).
typedef struct ak_attention_problem {
    long lq, lk, d, dv;
    float scale;
    float alibi_slope;
    long causal;
    long window;
    long key_limit;
    long mask_kind;
    const float *mask;
    long mask_stride_i, mask_stride_j;
} ak_attention_problem;

/// Floats of scratch one call of `ak_attention_forward_rows` needs for at most `block_q` query
/// rows and key tiles of `block_k` keys: O(block_q·(D + Dv + block_k) + block_k·Dv), never Lq×Lk.
size_t ak_attention_forward_scratch_count(long block_q, long block_k, long d, long dv);

/// Output rows [i0, i1) of one (batch, query head):
///   out[i, :] = Σⱼ softmax_j(score(i, j)) · v[j, :],   lse[i] = log Σⱼ exp(score(i, j)),
/// with score(i, j) = scale·q[i]·k[j] + bias(i, j) over the allowed keys. A row with no allowed
/// key gets zeros and lse = −inf. q [Lq, D], k [Lk, D], v [Lk, Dv], out [Lq, Dv], lse [Lq].
/// `level` (an `ak_simd_level`) selects the micro-kernels: AVX-512, AVX2+FMA, NEON or portable C;
/// a level the CPU lacks runs the best one below it. i1 − i0 must not exceed the `block_q` the
/// scratch was sized for, and `block_k` must be the same in both calls (≤ 0 means the default, 64).
void ak_attention_forward_rows(const ak_attention_problem *p,
                               const float *q, const float *k, const float *v,
                               float *out, float *lse, long i0, long i1, long block_k,
                               float *scratch, int level);

#endif
