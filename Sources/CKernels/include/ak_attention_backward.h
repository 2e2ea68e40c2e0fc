#ifndef AK_ATTENTION_BACKWARD_H
#define AK_ATTENTION_BACKWARD_H

#include <stddef.h>
#include "ak_attention.h"

// Fused attention backward (FlashAttention-2), recomputing the probabilities tile by tile from
// the forward's per-row log-sum-exp: P(i, j) = exp(score(i, j) − lse[i]), with score and the
// allowed keys exactly as in ak_attention.h. With dO the output gradient and
// δᵢ = Σ_c dO[i, c]·O[i, c]:
//   dV[j] += Σᵢ P(i, j)·dO[i]
//   dS(i, j) = P(i, j)·(dO[i]·v[j] − δᵢ)
//   dK[j] += scale·Σᵢ dS(i, j)·q[i]
//   dQ[i] += scale·Σⱼ dS(i, j)·k[j]
// The caller (Swift) owns threads and memory: a work item owns a set of key blocks of one
// (batch, kv head), so it alone writes those dK/dV rows; dQ goes to a buffer of its own and the
// buffers are summed afterwards in a fixed order. Rows with lse = −inf contribute nothing.

/// δᵢ = Σ_c dO[i, c]·O[i, c] for `rows` rows of width `dv`.
void ak_attention_backward_delta(const float *out, const float *out_grad, long rows, long dv, float *delta);

/// The query rows [*i_lo, *i_hi) that may see at least one key of [j0, j1) by position
/// (causal, sliding window, key padding); element masks are not consulted. Empty: lo == hi.
void ak_attention_backward_query_range(const ak_attention_problem *p, long j0, long j1,
                                       long *i_lo, long *i_hi);

/// Floats of scratch one call of `ak_attention_backward_key_block` needs:
/// O(block_q·(block_k + D) + block_k·(D + Dv)), never Lq×Lk.
size_t ak_attention_backward_scratch_count(long block_q, long block_k, long d, long dv);

/// Adds one query head's contribution from key rows [j0, j1) (j1 − j0 ≤ block_k) to
/// dk, dv rows [j0, j1) and to dq (all of this head's allowed query rows).
/// q, out_grad, lse, delta, dq: this query head's [Lq, D], [Lq, Dv], [Lq], [Lq], [Lq, D];
/// k, v, dk, dv: its kv head's [Lk, D], [Lk, Dv], [Lk, D], [Lk, Dv].
/// Query rows are visited in blocks of `block_q` in increasing order, so for fixed arguments
/// the sums are taken in one fixed order. `level` (an `ak_simd_level`, clamped to what the CPU
/// has) selects the micro-kernels; results are bit-identical for fixed arguments and level.
void ak_attention_backward_key_block(const ak_attention_problem *p,
                                     const float *q, const float *k, const float *v,
                                     const float *out_grad, const float *lse, const float *delta,
                                     float *dq, float *dk, float *dv,
                                     long j0, long j1, long block_q, long block_k,
                                     float *scratch, int level);

#endif
