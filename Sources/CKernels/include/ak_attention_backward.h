#ifndef AK_ATTENTION_BACKWARD_H
#define AK_ATTENTION_BACKWARD_H

#include <stddef.h>
#include "ak_attention.h"

// Fused attention backward (FlashAttention-2), recomputing the probabilities tile by tile from
// the forward's per-row log-sum-exp: P(i, j) = exp(score(i, j) − lse[i]). With dO the output
// gradient and δᵢ = Σ_c dO[i, c]·O[i, c]:
//   dV[j] += Σᵢ P(i, j)·dO[i]
//   dS(i, j) = P(i, j)·(dO[i]·v[j] − δᵢ)
//   dK[j] += scale·Σᵢ dS(i, j)·q[i]
//   dQ[i] += scale·Σⱼ dS(i, j)·k[j]
// Two passes keep the result deterministic without atomics: one owns key rows (dK, dV),
// the other owns query rows (dQ). Rows with lse = −inf (no allowed key) contribute nothing.

/// δᵢ = Σ_c dO[i, c]·O[i, c] for `rows` rows of width `dv`.
void ak_attention_backward_delta(const float *out, const float *out_grad, long rows, long dv, float *delta);

/// Floats of scratch either backward pass needs for the given tile sizes.
size_t ak_attention_backward_scratch_count(long block_q, long block_k, long d, long dv);

/// Adds this query head's contribution to dK, dV rows [j0, j1) (k, v, dk, dv: the kv head's
/// [Lk, D] / [Lk, Dv]; q, out_grad, lse, delta: this query head's). Call once per query head
/// of the group, in a fixed order, so the sum is deterministic.
void ak_attention_backward_key_rows(const ak_attention_problem *p,
                                    const float *q, const float *k, const float *v,
                                    const float *out_grad, const float *lse, const float *delta,
                                    float *dk, float *dv, long j0, long j1, long block_q,
                                    float *scratch, int use_simd);

/// Writes dQ rows [i0, i1) of one query head (dq [Lq, D], fully overwritten on those rows).
void ak_attention_backward_query_rows(const ak_attention_problem *p,
                                      const float *q, const float *k, const float *v,
                                      const float *out_grad, const float *lse, const float *delta,
                                      float *dq, long i0, long i1, long block_k,
                                      float *scratch, int use_simd);

#endif
