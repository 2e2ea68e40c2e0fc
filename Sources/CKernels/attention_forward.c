// Fused attention forward (FlashAttention-2), one block of query rows of one (batch, head).
//
// For query rows [i0, i1) (Br rows, padded to Brp, a multiple of 16) the key range they may
// see is walked in tiles of Bc keys. Per tile:
//   Sᵀ = K_tile·Q̂ᵀ          (scores, transposed; the scale is folded into Q̂ once per block)
//   bias and masks           (only on tiles that need them: ALiBi, element masks, and tiles
//                             crossing the causal / window / padding boundary)
//   online softmax           (m, l, α per row; Sᵀ becomes unnormalised probabilities exp(S − m),
//                             with ak_exp, the exp the backward recomputes P = exp(S − lse) with)
//   O = α·O + P·V_tile
// and at the end out = O / l, lse = m + log l. Keys no row of the block may see are never
// touched, which is how causal and sliding-window attention skip fully masked tiles.
//
// Extra memory is the caller's scratch (ak_attention_forward_scratch_count):
//   Q̂ [Brp·D] + Sᵀ [Bc·Brp] + padded V tile [Bc·Dvp] + O [Brp·Dvp] + m, l, α [3·Brp]
// which is O(Br·(D + Bc + Dv) + Bc·Dv), independent of Lq and Lk.
#include "include/ak_attention.h"
#include "include/ak_cpu.h"
#include "attention_forward_ops.h"
#include <math.h>
#include <string.h>

static long round16(long n) { return (n + 15) / 16 * 16; }

const ak_forward_ops *ak_forward_ops_for(int level) {
    switch (ak_simd_clamp(level)) {
#if defined(__x86_64__)
    case AK_SIMD_AVX512: return &ak_forward_ops_avx512;
    case AK_SIMD_AVX2: return &ak_forward_ops_avx2;
#endif
#if defined(__aarch64__)
    case AK_SIMD_NEON: return &ak_forward_ops_neon;
#endif
    default: return &ak_forward_ops_portable;
    }
}

/// Key tile width when the caller passes block_k ≤ 0.
enum { AK_DEFAULT_BLOCK_K = 64 };

size_t ak_attention_forward_scratch_count(long block_q, long block_k, long d, long dv) {
    const long brp = round16(block_q), bc = block_k > 0 ? block_k : AK_DEFAULT_BLOCK_K, dvp = round16(dv);
    return (size_t)(brp * d + bc * brp + bc * dvp + brp * dvp + 3 * brp);
}

/// Adds ALiBi and the additive mask to the real rows of a score tile, forbids pairs of a boolean mask, and sets keys outside a row's positional
/// range (causal, window, padding) to −inf when `positional` is set.
/// Column by column, so the inner loop runs over contiguous queries.
static void finish_scores(const ak_attention_problem *p, float *st, long ld,
                          long i0, long rows, long j0, long cols, int positional) {
    const long offset = p->lk - p->lq;
    const int biased = ak_has_score_bias(p);
    for (long c = 0; c < cols; c++) {
        float *s = st + c * ld;
        const long j = j0 + c;
        if (biased) {
            for (long r = 0; r < rows; r++) s[r] = ak_finish_score(p, i0 + r, j, s[r]);
        }
        if (positional) {
            // Key j is allowed for the rows r_lo ≤ r < r_hi: j < key_limit, causal
            // j ≤ i + offset ⇔ r ≥ j − offset − i0, window j > i + offset − w ⇔ r < j − offset − i0 + w
            // (the same rule as ak_key_lo / ak_key_hi, solved for the row).
            long r_lo = 0, r_hi = rows;
            if (j >= p->key_limit || j >= p->lk) {
                r_hi = 0;
            } else {
                if (p->causal) r_lo = j - offset - i0;
                if (p->window > 0) r_hi = j - offset - i0 + p->window;
            }
            ak_forbid_outside(s, rows, r_lo, r_hi);
        }
    }
}

/// Tile column of the first key query `first` may see, clamped to [0, cols]; rows after `first`
/// start no earlier (key_lo is monotone in i).
static long key_range_start(const ak_attention_problem *p, long first, long j0, long cols) {
    const long c = ak_key_lo(p, first) - j0;
    return c < 0 ? 0 : (c > cols ? cols : c);
}

/// One past the tile column of the last key query `last` may see, clamped to [start, cols];
/// rows before `last` end no later (key_hi is monotone in i).
static long key_range_end(const ak_attention_problem *p, long last, long j0, long cols, long start) {
    const long c = ak_key_hi(p, last) - j0;
    return c < start ? start : (c > cols ? cols : c);
}

/// One call's block of query rows [i0, i0 + rows) and the caller's scratch carved into its
/// buffers (see the top of this file).
typedef struct forward_block {
    const ak_attention_problem *p;
    const ak_forward_ops *ops;
    long i0, rows;
    long brp, dvp, bc;                   // rows, Dv padded to 16; key tile width
    float *qhat;                         // [Brp/16][D][16]
    float *st;                           // [Bc][Brp], row stride brp
    float *vpad;                         // [Bc][Dvp], used when Dv is not a multiple of 16
    float *o;                            // [Brp][Dvp]
    float *m, *l, *alpha;                // [Brp] each
} forward_block;

static forward_block forward_block_make(const ak_attention_problem *p, long i0, long i1, long block_k,
                                        float *scratch, int level) {
    forward_block b;
    b.p = p;
    b.ops = ak_forward_ops_for(level);
    b.i0 = i0;
    b.rows = i1 - i0;
    b.brp = round16(b.rows);
    b.dvp = round16(p->dv);
    b.bc = block_k > 0 ? block_k : AK_DEFAULT_BLOCK_K;
    b.qhat = scratch;
    b.st = b.qhat + b.brp * p->d;
    b.vpad = b.st + b.bc * b.brp;
    b.o = b.vpad + b.bc * b.dvp;
    b.m = b.o + b.brp * b.dvp;
    b.l = b.m + b.brp;
    b.alpha = b.l + b.brp;
    return b;
}

/// Packs the block's queries into Q̂ (times scale) and empties the running state.
/// Invariant after each tile, for row r over the keys seen so far:
///   m[r] = max score (−inf while none was allowed), l[r] = Σ exp(score − m[r]),
///   O[r] = Σ exp(score − m[r])·v.
static void start_rows(const forward_block *b, const float *q) {
    b->ops->pack_queries(q + b->i0 * b->p->d, b->rows, b->brp, b->p->d, b->p->scale, b->qhat);
    for (long r = 0; r < b->brp; r++) { b->m[r] = -INFINITY; b->l[r] = 0.0f; }
    memset(b->o, 0, sizeof(float) * (size_t)(b->brp * b->dvp));
}

/// Sᵀ of keys [j0, j0 + cols) against the block's queries. On a boundary tile (`positional`: the
/// causal diagonal, a window edge) each 16-query panel computes only the keys some of its rows
/// may see; the rest of the panel's column is left stale, and finish_scores sets it to −inf on
/// every real row (padding rows are never read).
static void tile_scores(const forward_block *b, const float *k, long j0, long cols, int positional) {
    const ak_attention_problem *p = b->p;
    const long d = p->d, ld = b->brp;
    if (!positional) {
        b->ops->scores(b->qhat, b->brp, d, k + j0 * d, cols, b->st, ld);
        return;
    }
    for (long p0 = 0; p0 < b->brp; p0 += 16) {
        const long last = p0 + 15 < b->rows - 1 ? p0 + 15 : b->rows - 1;
        const long c_lo = key_range_start(p, b->i0 + p0, j0, cols);
        const long c_hi = key_range_end(p, b->i0 + last, j0, cols, c_lo);
        if (c_hi > c_lo)
            b->ops->scores(b->qhat + p0 * d, 16, d, k + (j0 + c_lo) * d, c_hi - c_lo, b->st + c_lo * ld + p0, ld);
    }
}

/// The value rows [j0, j0 + cols), readable dvp wide: v itself when Dv is a multiple of 16, else
/// a zero-padded copy in vpad. Sets *ldv to the row stride of what it returns.
static const float *value_tile(const forward_block *b, const float *v, long j0, long cols, long *ldv) {
    const long dv = b->p->dv, dvp = b->dvp;
    const float *vt = v + j0 * dv;
    *ldv = dv;
    if (dv == dvp) return vt;
    for (long c = 0; c < cols; c++) {
        memcpy(b->vpad + c * dvp, vt + c * dv, sizeof(float) * (size_t)dv);
        memset(b->vpad + c * dvp + dv, 0, sizeof(float) * (size_t)(dvp - dv));
    }
    *ldv = dvp;
    return b->vpad;
}

/// O ← α·O + P·V_tile. On a boundary tile, probabilities outside a group's key range are 0: they
/// are skipped, but α is still applied (an empty range only rescales).
static void tile_accumulate(const forward_block *b, const float *vt, long ldv, long j0, long cols, int positional) {
    const long ld = b->brp, dvp = b->dvp;
    if (!positional) {
        b->ops->accumulate(b->st, ld, b->rows, cols, vt, ldv, dvp, b->o, dvp, b->alpha);
        return;
    }
    for (long r0 = 0; r0 < b->rows; r0 += 6) {
        const long n = b->rows - r0 < 6 ? b->rows - r0 : 6;
        const long c_lo = key_range_start(b->p, b->i0 + r0, j0, cols);
        const long c_hi = key_range_end(b->p, b->i0 + r0 + n - 1, j0, cols, c_lo);
        b->ops->accumulate(b->st + c_lo * ld + r0, ld, n, c_hi - c_lo, vt + c_lo * ldv, ldv, dvp,
                           b->o + r0 * dvp, dvp, b->alpha + r0);
    }
}

/// out = O / l and lse = m + log l = log Σ exp(score); a row that saw no allowed key (l = 0)
/// gets zeros and −inf.
static void finish_rows(const forward_block *b, float *out, float *lse) {
    const long dv = b->p->dv, dvp = b->dvp;
    for (long r = 0; r < b->rows; r++) {
        float *orow = out + (b->i0 + r) * dv;
        if (b->l[r] > 0.0f) {
            for (long c = 0; c < dv; c++) orow[c] = b->o[r * dvp + c] / b->l[r];
            lse[b->i0 + r] = b->m[r] + logf(b->l[r]);
        } else {
            memset(orow, 0, sizeof(float) * (size_t)dv);
            lse[b->i0 + r] = -INFINITY;
        }
    }
}

void ak_attention_forward_rows(const ak_attention_problem *p,
                               const float *q, const float *k, const float *v,
                               float *out, float *lse, long i0, long i1, long block_k,
                               float *scratch, int level) {
    if (i1 <= i0) return;
    const forward_block b = forward_block_make(p, i0, i1, block_k, scratch, level);
    start_rows(&b, q);
    // Positions are monotone in i, so the union of the rows' key ranges is
    // [key_lo(first row), key_hi(last row)); a tile needs positional masking unless it lies in
    // every row's range, i.e. inside [key_lo(last row), key_hi(first row)).
    const long lo = ak_key_lo(p, i0), hi = ak_key_hi(p, i1 - 1);
    const long inner_lo = ak_key_lo(p, i1 - 1), inner_hi = ak_key_hi(p, i0);
    const int biased = ak_has_score_bias(p);
    for (long j0 = lo; j0 < hi; j0 += b.bc) {
        const long cols = hi - j0 < b.bc ? hi - j0 : b.bc;
        const int positional = !(j0 >= inner_lo && j0 + cols <= inner_hi);
        tile_scores(&b, k, j0, cols, positional);
        if (positional || biased) finish_scores(p, b.st, b.brp, i0, b.rows, j0, cols, positional);
        b.ops->softmax(b.st, b.brp, b.brp, cols, b.m, b.l, b.alpha);
        long ldv;
        const float *vt = value_tile(&b, v, j0, cols, &ldv);
        tile_accumulate(&b, vt, ldv, j0, cols, positional);
    }
    finish_rows(&b, out, lse);
}
