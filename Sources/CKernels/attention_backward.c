// Fused attention backward (FlashAttention-2), one key block of one query head.
//
// Dimensions: Lq queries, Lk keys, D query/key width, Dv value width; Bc = j1 − j0 keys of this
// block (padded to Bc' = a multiple of 16), Br = block_q query rows per tile. Extra memory is the
// caller's scratch: S and dP [Br, Bc'], K̂ [Bc', D], V̂ [Bc', Dv] and Q̂ [Br, D] — never Lq×Lk.
// The key block is packed once per call (see attention_backward_ops.h) and reused by every query
// tile; the other products read Q, dO, K in place, with Pᵀ and dSᵀ read through strides.
//
// Per tile (query rows [i0, i0 + Br)):
//   S  = (scale·Q)·Kᵀ, plus ALiBi and the masks   the forward's scores bit for bit at every SIMD
//                                          level: the same rounded scale·q, the same products
//                                          summed in the same order (k = 0, 1, …, D − 1), the
//                                          same finishing step (attention_mask.h)
//   P  = exp(S − lse)                      recomputed from the forward's log-sum-exp with the
//                                          forward's exp (ak_exp), so each row of P sums to 1
//                                          up to the rounding of lse and a few ulps
//   dV += Pᵀ·dO
//   dP = dO·Vᵀ
//   dS = scale·P∘(dP − δ)                  (the scale of S = scale·Q·Kᵀ folded in once)
//   dK += dSᵀ·Q,   dQ += dS·K
#include "include/ak_attention_backward.h"
#include "attention_backward_ops.h"
#include "attention_mask.h"
#include <math.h>

static long round16(long n) { return (n + 15) / 16 * 16; }

/// Adds ALiBi and the element mask to the raw scores S[r][c] (query i0 + r, key j0 + c) and
/// sets pairs forbidden by position or by a boolean mask to −inf. Skipped when the tile has no
/// bias and every pair is allowed; without bias (a causal diagonal tile, say) each row only has
/// its keys outside [key_lo, key_hi) overwritten, two contiguous runs (an element-wise loop with
/// a test per key cost as much as the tile's five products).
static void finish_scores(const ak_attention_problem *p, float *s, long lds,
                          long i0, long rows, long j0, long cols) {
    const int inside = j0 >= ak_key_lo(p, i0 + rows - 1) && j0 + cols <= ak_key_hi(p, i0);
    const int biased = ak_has_score_bias(p);
    if (inside && !biased) return;
    if (!biased) {
        for (long r = 0; r < rows; r++)
            ak_forbid_outside(s + r * lds, cols, ak_key_lo(p, i0 + r) - j0, ak_key_hi(p, i0 + r) - j0);
        return;
    }
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const long i = i0 + r;
        const long lo = ak_key_lo(p, i), hi = ak_key_hi(p, i);
        for (long c = 0; c < cols; c++) {
            const long j = j0 + c;
            float x = biased ? ak_finish_score(p, i, j, row[c]) : row[c];
            if (!inside && (j < lo || j >= hi)) x = -INFINITY;
            row[c] = x;
        }
    }
}

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
    const long lds = round16(block_k);
    return (size_t)(2 * block_q * lds + lds * (d + dv) + block_q * d);
}

/// X̂[k][r] = x[r][k] for the `rows` rows of x ([rows, width]), zero for rows up to rows_padded:
/// the key block transposed once, so S = Q̂·K̂ and dP = dO·V̂ are products over whole rows of keys.
/// Memory-bound and small next to the products, so a plain loop suffices.
static void pack_transposed(const float *x, long rows, long rows_padded, long width, float *xhat) {
    for (long r = 0; r < rows_padded; r++)
        for (long k = 0; k < width; k++) xhat[k * rows_padded + r] = r < rows ? x[r * width + k] : 0.0f;
}

/// qhat[e] = scale·q[e] for the rows·d floats of a query tile: the rounding of the forward's
/// pack_queries, so the scores match the forward's.
static void scale_queries(const float *q, long count, float scale, float *qhat) {
    for (long e = 0; e < count; e++) qhat[e] = scale * q[e];
}

void ak_attention_backward_key_block(const ak_attention_problem *p,
                                     const float *q, const float *k, const float *v,
                                     const float *out_grad, const float *lse, const float *delta,
                                     float *dq, float *dk, float *dv,
                                     long j0, long j1, long block_q, long block_k,
                                     float *scratch, int level) {
    long i_lo, i_hi;
    ak_attention_backward_query_range(p, j0, j1, &i_lo, &i_hi);
    if (i_lo >= i_hi) return;
    const ak_backward_ops *ops = ak_backward_ops_for(level);
    const long d = p->d, dvw = p->dv, cols = j1 - j0, padded = round16(cols), lds = round16(block_k);
    float *s = scratch;                       // [Br][lds] S → P → dS
    float *dp = s + block_q * lds;            // [Br][lds] dP
    float *khat = dp + block_q * lds;         // [D][Bc']         K of the block, transposed
    float *vhat = khat + padded * d;          // [Dv][Bc']        V of the block, transposed
    float *qhat = khat + lds * (d + dvw);     // [Br][D]          scale·Q of the tile
    const float *k_block = k + j0 * d;
    float *dk_block = dk + j0 * d, *dv_block = dv + j0 * dvw;
    pack_transposed(k_block, cols, padded, d, khat);
    pack_transposed(v + j0 * dvw, cols, padded, dvw, vhat);

    // Causal: query i sees the block's keys [0, i + offset + 1 − j0). A tile that crosses the
    // diagonal runs in sub-tiles of CAUSAL_ROWS rows, each over the keys its last row sees: the
    // keys past that are masked for every row of the sub-tile, so their P and dS are 0 and they
    // add nothing (a 64-row diagonal tile does 59% of its products). Every sum keeps its order
    // (over D for S and dP, over the keys for dQ, over the rows for dK and dV, whose sub-tiles
    // follow each other), so the values are those of whole tiles.
    enum { CAUSAL_ROWS = 12 };
    const long offset = p->lk - p->lq;
    for (long i0 = i_lo; i0 < i_hi; i0 += block_q) {
        const long rows = i_hi - i0 < block_q ? i_hi - i0 : block_q;
        const long crossing = p->causal && i0 + offset + 1 - j0 < cols ? CAUSAL_ROWS : rows;   // row i0 misses keys
        for (long r0 = 0; r0 < rows; r0 += crossing) {
            const long sub = rows - r0 < crossing ? rows - r0 : crossing, i = i0 + r0;
            long seen = cols;
            if (p->causal && i + sub + offset - j0 < seen) seen = i + sub + offset - j0;
            const long wide = round16(seen) < padded ? round16(seen) : padded;   // S and dP in whole strips
            const float *q_tile = q + i * d, *do_tile = out_grad + i * dvw;
            scale_queries(q_tile, sub * d, p->scale, qhat);
            ops->gemm(qhat, d, 1, sub, d, khat, padded, wide, s, lds, 0);                  // S = Q̂·K̂
            finish_scores(p, s, lds, i, sub, j0, seen);
            ops->probabilities(s, lds, sub, seen, lse + i);
            ops->gemm(s, 1, lds, seen, sub, do_tile, dvw, dvw, dv_block, dvw, 1);         // dV += Pᵀ·dO
            ops->gemm(do_tile, dvw, 1, sub, dvw, vhat, padded, wide, dp, lds, 0);           // dP = dO·V̂
            ops->ds(s, dp, lds, sub, seen, delta + i, p->scale);
            ops->gemm(s, 1, lds, seen, sub, q_tile, d, d, dk_block, d, 1);                // dK += dSᵀ·Q
            ops->gemm(s, lds, 1, sub, seen, k_block, d, d, dq + i * d, d, 1);             // dQ += dS·K
        }
    }
}
