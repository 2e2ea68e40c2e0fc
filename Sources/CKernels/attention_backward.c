// Fused attention backward (FlashAttention-2), one key block of one query head.
//
// Dimensions: Lq queries, Lk keys, D query/key width, Dv value width; Bc = j1 − j0 keys of this
// block, Br = block_q query rows per tile. Extra memory is the caller's scratch:
// S [Br, Bc] scores → P → dS, dP [Br, Bc], K̂ [Bc, D] and V̂ [Bc, Dv] packed — never Lq×Lk.
//
// Per tile (query rows [i0, i0 + Br)):
//   S  = Q·Kᵀ, finished (scale, ALiBi, masks) as in the forward
//   P  = exp(S − lse)                      recomputed from the forward's log-sum-exp
//   dV += Pᵀ·dO
//   dP = dO·Vᵀ
//   dS = scale·P∘(dP − δ)                  (the scale of S = scale·Q·Kᵀ folded in once)
//   dK += dSᵀ·Q,   dQ += dS·K
#include "include/ak_attention_backward.h"
#include "attention_tile.h"
#include "attention_backward_ops.h"
#include <math.h>
#include <string.h>

static long round16(long n) { return (n + 15) / 16 * 16; }

void ak_attention_backward_delta(const float *out, const float *out_grad, long rows, long dv, float *delta) {
    for (long r = 0; r < rows; r++) {
        const float *o = out + r * dv, *g = out_grad + r * dv;
        float sum = 0.0f;
        for (long c = 0; c < dv; c++) sum += o[c] * g[c];
        delta[r] = sum;
    }
}

void ak_attention_backward_query_range(const ak_attention_problem *p, long j0, long j1,
                                       long *i_lo, long *i_hi) {
    const long offset = p->lk - p->lq;
    long lo = 0, hi = p->lq;
    if (j0 >= p->key_limit || j0 >= j1) hi = 0;
    // Causal: query i sees keys up to i + offset, so it reaches the block iff i + offset ≥ j0.
    if (p->causal && j0 - offset > lo) lo = j0 - offset;
    // Sliding window: its first key i + offset + 1 − window must lie before j1.
    if (p->window > 0 && j1 + p->window - offset - 1 < hi) hi = j1 + p->window - offset - 1;
    if (lo > p->lq) lo = p->lq;
    if (hi < lo) hi = lo;
    *i_lo = lo;
    *i_hi = hi;
}

size_t ak_attention_backward_scratch_count(long block_q, long block_k, long d, long dv) {
    long bc = round16(block_k);
    return (size_t)(2 * block_q * bc + bc * d + bc * dv);
}

void ak_attention_backward_key_block(const ak_attention_problem *p,
                                     const float *q, const float *k, const float *v,
                                     const float *out_grad, const float *lse, const float *delta,
                                     float *dq, float *dk, float *dv,
                                     long j0, long j1, long block_q, long block_k,
                                     float *scratch, int use_simd) {
    long i_lo, i_hi;
    ak_attention_backward_query_range(p, j0, j1, &i_lo, &i_hi);
    if (i_lo >= i_hi) return;
    const ak_tile_ops *ops = ak_tile_ops_select(use_simd);
    const ak_backward_ops *bops = ak_backward_ops_select(use_simd);
    const long d = p->d, dvw = p->dv, cols = j1 - j0, lds = round16(block_k);
    float *s = scratch;                       // [Br, Bc] S, then P, then dS
    float *dp = s + block_q * lds;            // [Br, Bc] dP
    float *packed_k = dp + block_q * lds;     // [Bc/16][D][16]
    float *packed_v = packed_k + lds * d;     // [Bc/16][Dv][16]
    ops->pack_rows(k + j0 * d, cols, d, d, packed_k);
    ops->pack_rows(v + j0 * dvw, cols, dvw, dvw, packed_v);
    float *dk_block = dk + j0 * d, *dv_block = dv + j0 * dvw;
    const float *k_block = k + j0 * d;

    for (long i0 = i_lo; i0 < i_hi; i0 += block_q) {
        const long rows = i_hi - i0 < block_q ? i_hi - i0 : block_q;
        const float *q_tile = q + i0 * d, *do_tile = out_grad + i0 * dvw;
        ops->abt(q_tile, d, rows, d, packed_k, cols, s, lds);
        ak_tile_finish_scores(p, s, lds, i0, rows, j0, cols);
        for (long r = 0; r < rows; r++) {
            float *row = s + r * lds;
            // A row with no allowed key has lse = −inf and P = 0 (exp(−inf + inf) would be NaN).
            if (lse[i0 + r] == -INFINITY) memset(row, 0, sizeof(float) * (size_t)cols);
            else ops->exp_sub_sum(row, cols, lse[i0 + r]);
        }
        // dV[Bc, Dv] += Pᵀ·dO: A(c, r) = P[r, c] is read with strides (1, lds).
        ops->ab_acc(s, 1, lds, cols, rows, do_tile, dvw, dvw, dv_block, dvw);
        ops->abt(do_tile, dvw, rows, dvw, packed_v, cols, dp, lds);
        bops->ds(s, dp, lds, rows, cols, delta + i0, p->scale);
        // dK[Bc, D] += dSᵀ·Q and dQ[Br, D] += dS·K.
        ops->ab_acc(s, 1, lds, cols, rows, q_tile, d, d, dk_block, d);
        ops->ab_acc(s, lds, 1, rows, cols, k_block, d, d, dq + i0 * d, d);
    }
}
