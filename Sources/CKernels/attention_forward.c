// Fused attention forward (FlashAttention-2), one query block of one (batch, query head).
//
// Dimensions: Lq queries, Lk keys, D query/key width, Dv value width; Br = i1 − i0 rows of
// this block, Bc = block_k keys per tile. Extra memory is the caller's scratch:
// S [Br, Bc] scores, K̂ [Bc, D] packed keys, m [Br], l [Br] — O(Br·(D + Bc)), never Lq×Lk.
#include "include/ak_attention.h"
#include "attention_tile.h"
#include <math.h>
#include <string.h>

static long round16(long n) { return (n + 15) / 16 * 16; }

size_t ak_attention_forward_scratch_count(long block_q, long block_k, long d, long dv) {
    (void)dv;
    long bc = round16(block_k);
    return (size_t)(block_q * bc + bc * d + 2 * block_q);
}

void ak_attention_forward_rows(const ak_attention_problem *p,
                               const float *q, const float *k, const float *v,
                               float *out, float *lse, long i0, long i1, long block_k,
                               float *scratch, int use_simd) {
    const ak_tile_ops *ops = ak_tile_ops_select(use_simd);
    const long rows = i1 - i0, d = p->d, dv = p->dv, lds = round16(block_k);
    float *s = scratch;                   // [Br, Bc] scores, then probabilities
    float *packed = s + rows * lds;       // [Bc/16][D][16] the key tile, transposed
    float *m = packed + lds * d;          // [Br] running max
    float *l = m + rows;                  // [Br] running sum
    float *o = out + i0 * dv;             // [Br, Dv] the output rows accumulate in place

    // Invariant after each key tile, for row r over the keys seen so far:
    //   m[r] = max score (−inf while none was allowed),
    //   l[r] = Σ exp(score − m[r]),  o[r] = Σ exp(score − m[r])·v.
    for (long r = 0; r < rows; r++) { m[r] = -INFINITY; l[r] = 0.0f; }
    memset(o, 0, sizeof(float) * (size_t)(rows * dv));

    // Keys no row of this block may see are never visited: positions are monotone in i, so
    // the union of the rows' ranges is [key_lo(first row), key_hi(last row)).
    const long lo = ak_key_lo(p, i0), hi = ak_key_hi(p, i1 - 1);
    for (long j0 = lo; j0 < hi; j0 += block_k) {
        const long cols = hi - j0 < block_k ? hi - j0 : block_k;
        ops->pack_rows(k + j0 * d, cols, d, d, packed);
        ops->abt(q + i0 * d, d, rows, d, packed, cols, s, lds);
        ak_tile_finish_scores(p, s, lds, i0, rows, j0, cols);
        for (long r = 0; r < rows; r++) {
            float *row = s + r * lds;
            const float tile_max = ops->row_max(row, cols);
            const float m_new = tile_max > m[r] ? tile_max : m[r];
            if (m_new == -INFINITY) {
                // Nothing allowed yet: exp(−inf − (−inf)) would be NaN, so the row's
                // probabilities are set to 0 directly and m, l, o stay at their empty values.
                memset(row, 0, sizeof(float) * (size_t)cols);
                continue;
            }
            // The max grew from m[r] to m_new: earlier terms were weighted exp(score − m[r]),
            // so multiplying l and o by α = exp(m[r] − m_new) re-expresses them relative to
            // m_new (α = 0 when m[r] was −inf, i.e. nothing had been accumulated).
            const float alpha = expf(m[r] - m_new);
            const float tile_sum = ops->exp_sub_sum(row, cols, m_new);
            l[r] = l[r] * alpha + tile_sum;
            m[r] = m_new;
            if (alpha != 1.0f) {
                float *orow = o + r * dv;
                for (long c = 0; c < dv; c++) orow[c] *= alpha;
            }
        }
        ops->ab_acc(s, lds, 1, rows, cols, v + j0 * dv, dv, dv, o, dv);
    }
    // Normalise: out = o / l and lse = m + log l; a row with no allowed key keeps zeros.
    for (long r = 0; r < rows; r++) {
        float *orow = o + r * dv;
        if (l[r] > 0.0f) {
            const float inv = 1.0f / l[r];
            for (long c = 0; c < dv; c++) orow[c] *= inv;
            lse[i0 + r] = m[r] + logf(l[r]);
        } else {
            memset(orow, 0, sizeof(float) * (size_t)dv);
            lse[i0 + r] = -INFINITY;
        }
    }
}
