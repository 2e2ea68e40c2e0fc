// Fused attention backward (FlashAttention-2), one key block of one query head.
//
// Dimensions: Lq queries, Lk keys, D query/key width, Dv value width; Bc = j1 − j0 keys of this
// block, Br = block_q query rows per tile (padded to Br' = a multiple of 16). Extra memory is the
// caller's scratch: Sᵀ and dPᵀ [Bc, Br'], Q̂ [Br', D], dÔ [Br', Dv] and two Br' vectors, never
// Lq×Lk. Keys run down the tiles and queries across (see attention_backward_ops.h), so every
// product reads K, V, Q, dO in place and the elementwise steps are vectorised along queries.
//
// Per tile (query rows [i0, i0 + Br)):
//   Sᵀ  = K·(scale·Q)ᵀ, plus ALiBi and the masks as in the forward
//   Pᵀ  = exp(Sᵀ − lse)                    recomputed from the forward's log-sum-exp
//   dV += Pᵀ·dO
//   dPᵀ = V·dOᵀ
//   dSᵀ = scale·Pᵀ∘(dPᵀ − δ)               (the scale of S = scale·Q·Kᵀ folded in once)
//   dK += dSᵀ·Q,   dQ += dS·K
#include "include/ak_attention_backward.h"
#include "attention_backward_ops.h"
#include <math.h>
#include <string.h>

static long round16(long n) { return (n + 15) / 16 * 16; }

/// First allowed key of query i by position (sliding window), ≥ 0.
static long key_lo(const ak_attention_problem *p, long i) {
    if (p->window <= 0) return 0;
    long lo = i + (p->lk - p->lq) + 1 - p->window;
    return lo > 0 ? lo : 0;
}

/// One past the last allowed key of query i by position (causal, key padding), ≥ 0.
static long key_hi(const ak_attention_problem *p, long i) {
    long hi = p->causal ? i + (p->lk - p->lq) + 1 : p->lk;
    if (hi > p->key_limit) hi = p->key_limit;
    return hi > 0 ? hi : 0;
}

/// Adds ALiBi and the element mask to the raw scores Sᵀ[c][r] (query i0 + r, key j0 + c) and
/// sets pairs forbidden by position or by a boolean mask to −inf. Cheap next to the products,
/// and skipped when the tile has no bias and every pair is allowed.
static void finish_scores(const ak_attention_problem *p, float *st, long ld,
                          long i0, long rows, long j0, long cols) {
    const int inside = j0 >= key_lo(p, i0 + rows - 1) && j0 + cols <= key_hi(p, i0);
    if (inside && p->alibi_slope == 0.0f && p->mask_kind == 0) return;
    const long offset = p->lk - p->lq;
    for (long c = 0; c < cols; c++) {
        float *row = st + c * ld;
        const long j = j0 + c;
        for (long r = 0; r < rows; r++) {
            const long i = i0 + r;
            float x = row[r];
            if (p->alibi_slope != 0.0f) {
                const long dist = i + offset - j;
                x -= p->alibi_slope * (float)(dist < 0 ? -dist : dist);
            }
            if (p->mask_kind != 0) {
                const float m = p->mask[i * p->mask_stride_i + j * p->mask_stride_j];
                if (p->mask_kind == 2) x += m;
                else if (m == 0.0f) x = -INFINITY;
            }
            if (!inside && (j < key_lo(p, i) || j >= key_hi(p, i))) x = -INFINITY;
            row[r] = x;
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
    const long ld = round16(block_q);
    return (size_t)(2 * block_k * ld + ld * (d + dv) + 2 * ld);
}

void ak_attention_backward_key_block(const ak_attention_problem *p,
                                     const float *q, const float *k, const float *v,
                                     const float *out_grad, const float *lse, const float *delta,
                                     float *dq, float *dk, float *dv,
                                     long j0, long j1, long block_q, long block_k,
                                     float *scratch, int use_simd) {
    (void)block_k;
    long i_lo, i_hi;
    ak_attention_backward_query_range(p, j0, j1, &i_lo, &i_hi);
    if (i_lo >= i_hi) return;
    const ak_backward_ops *ops = ak_backward_ops_select(use_simd);
    const long d = p->d, dvw = p->dv, cols = j1 - j0, ld = round16(block_q);
    float *st = scratch;                  // [Bc][ld] Sᵀ → Pᵀ → dSᵀ
    float *dpt = st + cols * ld;          // [Bc][ld] dPᵀ
    float *qhat = dpt + cols * ld;        // [ld/16][D][16] scale·Q, transposed
    float *dohat = qhat + ld * d;         // [ld/16][Dv][16] dO, transposed
    float *sub = dohat + ld * dvw;        // [ld] lse, +inf where nothing may be attended
    float *dl = sub + ld;                 // [ld] δ, 0 in padding
    const float *k_block = k + j0 * d, *v_block = v + j0 * dvw;
    float *dk_block = dk + j0 * d, *dv_block = dv + j0 * dvw;

    for (long i0 = i_lo; i0 < i_hi; i0 += block_q) {
        const long rows = i_hi - i0 < block_q ? i_hi - i0 : block_q, padded = round16(rows);
        const float *q_tile = q + i0 * d, *do_tile = out_grad + i0 * dvw;
        for (long r = 0; r < padded; r++) {
            // exp(x − (+inf)) = 0: rows with lse = −inf (no allowed key) and padding get P = 0.
            const int live = r < rows && lse[i0 + r] != -INFINITY;
            sub[r] = live ? lse[i0 + r] : INFINITY;
            dl[r] = r < rows ? delta[i0 + r] : 0.0f;
        }
        ops->pack_transposed(q_tile, rows, padded, d, p->scale, qhat);
        ops->pack_transposed(do_tile, rows, padded, dvw, 1.0f, dohat);
        for (long t = 0; t < padded; t += 16)
            ops->gemm(k_block, d, 1, cols, d, qhat + t * d, 16, 16, st + t, ld, 0);
        finish_scores(p, st, ld, i0, rows, j0, cols);
        ops->probabilities(st, ld, padded, cols, sub);
        ops->gemm(st, ld, 1, cols, rows, do_tile, dvw, dvw, dv_block, dvw, 1);         // dV += Pᵀ·dO
        for (long t = 0; t < padded; t += 16)
            ops->gemm(v_block, dvw, 1, cols, dvw, dohat + t * dvw, 16, 16, dpt + t, ld, 0);  // dPᵀ = V·dOᵀ
        ops->ds(st, dpt, ld, padded, cols, dl, p->scale);
        ops->gemm(st, ld, 1, cols, rows, q_tile, d, d, dk_block, d, 1);                // dK += dSᵀ·Q
        ops->gemm(st, 1, ld, rows, cols, k_block, d, d, dq + i0 * d, d, 1);            // dQ += dS·K
    }
}
