// AVX-512 micro-kernels of the fused attention forward (layouts in attention_forward_ops.h): the
// 16-wide twins of attention_forward_avx2.c. Each function carries a per-function target
// attribute, so the package needs no compiler flags; attention_forward.c uses them only at
// AK_SIMD_AVX512 (CPU and OS support checked by ak_simd_available).
//
// A 16-query panel of Q̂ / Sᵀ is exactly one zmm register. Scores: 6 keys × 4 panels (24
// accumulators; 4 loads + 6 broadcasts per 24 FMAs), then 12 keys × 2 panels for a last 32
// queries. Accumulate: 6 query rows × 64 output columns (4 loads + 6 broadcasts per 24 FMAs),
// then 12 rows × 32 columns for the rest of the width.
#if defined(__x86_64__)
#include "attention_forward_ops.h"
#include "ak_simd_math.h"
#include <immintrin.h>
#include "ak_target.h"
#include <math.h>

enum { KEYS = 12, ROWS = 12 };

AK_AVX512 static void pack_queries_avx512(const float *q, long rows, long rows_padded, long d, float scale,
                                       float *qhat) {
    // A transpose, once per query block and reused by every key tile: plain loops suffice.
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        float *panel = qhat + p0 * d;
        for (long k = 0; k < d; k++) _mm512_storeu_ps(panel + k * 16, _mm512_setzero_ps());
        const long width = rows - p0 < 16 ? rows - p0 : 16;
        for (long t = 0; t < width; t++) {
            const float *row = q + (p0 + t) * d;
            for (long k = 0; k < d; k++) panel[k * 16 + t] = scale * row[k];
        }
    }
}

// Sᵀ[i][0..16·np) = Σₖ key[i][k]·Q̂(k, 0..16·np) for i < mr keys over np query panels
// (mr·np ≤ 24 accumulators).
AK_AVX512_INLINE void scores_block(const int mr, const int np, const float *panel, long d, const float *k,
                                float *st, long ld) {
    __m512 acc[KEYS][4];
    AK_UNROLL
    for (int i = 0; i < mr; i++)
        AK_UNROLL
        for (int t = 0; t < np; t++) acc[i][t] = _mm512_setzero_ps();
    for (long kk = 0; kk < d; kk++) {
        __m512 b[4];
        AK_UNROLL
        for (int t = 0; t < np; t++) b[t] = _mm512_loadu_ps(panel + t * 16 * d + kk * 16);
        AK_UNROLL
        for (int i = 0; i < mr; i++) {
            const __m512 a = _mm512_set1_ps(k[i * d + kk]);
            AK_UNROLL
            for (int t = 0; t < np; t++) acc[i][t] = _mm512_fmadd_ps(a, b[t], acc[i][t]);
        }
    }
    AK_UNROLL
    for (int i = 0; i < mr; i++)
        AK_UNROLL
        for (int t = 0; t < np; t++) _mm512_storeu_ps(st + i * ld + 16 * t, acc[i][t]);
}

#define AK_KEY_TAIL(np)                                                                   \
    switch (cols - c) {                                                                   \
    case 11: scores_block(11, np, panel, d, kc, sc, ld); break;                           \
    case 10: scores_block(10, np, panel, d, kc, sc, ld); break;                           \
    case 9: scores_block(9, np, panel, d, kc, sc, ld); break;                             \
    case 8: scores_block(8, np, panel, d, kc, sc, ld); break;                             \
    case 7: scores_block(7, np, panel, d, kc, sc, ld); break;                             \
    case 6: scores_block(6, np, panel, d, kc, sc, ld); break;                             \
    case 5: scores_block(5, np, panel, d, kc, sc, ld); break;                             \
    case 4: scores_block(4, np, panel, d, kc, sc, ld); break;                             \
    case 3: scores_block(3, np, panel, d, kc, sc, ld); break;                             \
    case 2: scores_block(2, np, panel, d, kc, sc, ld); break;                             \
    case 1: scores_block(1, np, panel, d, kc, sc, ld); break;                             \
    default: break;                                                                       \
    }

AK_AVX512_INLINE void scores_strided(const float *qhat, long rows_padded, long d, const float *k, long cols,
                                      float *st, long ld) {
    long p0 = 0;
    for (; p0 + 64 <= rows_padded; p0 += 64) {   // 6 keys × 4 panels: 4 loads + 6 broadcasts per 24 FMAs
        const float *panel = qhat + p0 * d;
        long c = 0;
        for (; c + 6 <= cols; c += 6) scores_block(6, 4, panel, d, k + c * d, st + c * ld + p0, ld);
        const float *kc = k + c * d;
        float *sc = st + c * ld + p0;
        switch (cols - c) {
        case 5: scores_block(5, 4, panel, d, kc, sc, ld); break;
        case 4: scores_block(4, 4, panel, d, kc, sc, ld); break;
        case 3: scores_block(3, 4, panel, d, kc, sc, ld); break;
        case 2: scores_block(2, 4, panel, d, kc, sc, ld); break;
        case 1: scores_block(1, 4, panel, d, kc, sc, ld); break;
        default: break;
        }
    }
    for (; p0 + 32 <= rows_padded; p0 += 32) {
        const float *panel = qhat + p0 * d;
        long c = 0;
        for (; c + KEYS <= cols; c += KEYS) scores_block(KEYS, 2, panel, d, k + c * d, st + c * ld + p0, ld);
        const float *kc = k + c * d;
        float *sc = st + c * ld + p0;
        AK_KEY_TAIL(2)
    }
    if (p0 < rows_padded) {
        const float *panel = qhat + p0 * d;
        long c = 0;
        for (; c + KEYS <= cols; c += KEYS) scores_block(KEYS, 1, panel, d, k + c * d, st + c * ld + p0, ld);
        const float *kc = k + c * d;
        float *sc = st + c * ld + p0;
        AK_KEY_TAIL(1)
    }
}

AK_AVX512 static void softmax_avx512(float *st, long ld, long rows_padded, long cols, float *m, float *l,
                                  float *alpha) {
    const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
    for (long r = 0; r < rows_padded; r += 16) {
        __m512 mx0 = minus_inf, mx1 = minus_inf;
        long c = 0;
        for (; c + 2 <= cols; c += 2) {
            mx0 = _mm512_max_ps(mx0, _mm512_loadu_ps(st + c * ld + r));
            mx1 = _mm512_max_ps(mx1, _mm512_loadu_ps(st + (c + 1) * ld + r));
        }
        if (c < cols) mx0 = _mm512_max_ps(mx0, _mm512_loadu_ps(st + c * ld + r));
        const __m512 m_old = _mm512_loadu_ps(m + r);
        const __m512 m_new = _mm512_max_ps(m_old, _mm512_max_ps(mx0, mx1));
        // μ = 0 where nothing is allowed yet, so exp(−inf − μ) is 0 rather than NaN.
        const __mmask16 none = _mm512_cmp_ps_mask(m_new, minus_inf, _CMP_EQ_OQ);
        const __m512 mu = _mm512_mask_mov_ps(m_new, none, _mm512_setzero_ps());
        const __m512 a = ak_exp_avx512(_mm512_sub_ps(m_old, mu));
        __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
        c = 0;
        for (; c + 2 <= cols; c += 2) {
            const __m512 e0 = ak_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(st + c * ld + r), mu));
            const __m512 e1 = ak_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(st + (c + 1) * ld + r), mu));
            _mm512_storeu_ps(st + c * ld + r, e0);
            _mm512_storeu_ps(st + (c + 1) * ld + r, e1);
            sum0 = _mm512_add_ps(sum0, e0);
            sum1 = _mm512_add_ps(sum1, e1);
        }
        if (c < cols) {
            const __m512 e0 = ak_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(st + c * ld + r), mu));
            _mm512_storeu_ps(st + c * ld + r, e0);
            sum0 = _mm512_add_ps(sum0, e0);
        }
        _mm512_storeu_ps(alpha + r, a);
        _mm512_storeu_ps(l + r, _mm512_fmadd_ps(a, _mm512_loadu_ps(l + r), _mm512_add_ps(sum0, sum1)));
        _mm512_storeu_ps(m + r, m_new);
    }
}

// O[i][0..16·nv) ← α[i]·O[i][0..16·nv) + Σ_c Sᵀ[c][i]·v[c][0..16·nv) for i < mr query rows.
AK_AVX512_INLINE void accumulate_block(const int mr, const int nv, const float *st, long ld, long cols,
                                    const float *v, long ldv, float *o, long ldo, const float *alpha) {
    __m512 acc[ROWS][4];
    AK_UNROLL
    for (int i = 0; i < mr; i++) {
        const __m512 a = _mm512_set1_ps(alpha[i]);
        AK_UNROLL
        for (int t = 0; t < nv; t++) acc[i][t] = _mm512_mul_ps(a, _mm512_loadu_ps(o + i * ldo + 16 * t));
    }
    for (long c = 0; c < cols; c++) {
        __m512 b[4];
        AK_UNROLL
        for (int t = 0; t < nv; t++) b[t] = _mm512_loadu_ps(v + c * ldv + 16 * t);
        AK_UNROLL
        for (int i = 0; i < mr; i++) {
            const __m512 p = _mm512_set1_ps(st[c * ld + i]);
            AK_UNROLL
            for (int t = 0; t < nv; t++) acc[i][t] = _mm512_fmadd_ps(p, b[t], acc[i][t]);
        }
    }
    AK_UNROLL
    for (int i = 0; i < mr; i++)
        AK_UNROLL
        for (int t = 0; t < nv; t++) _mm512_storeu_ps(o + i * ldo + 16 * t, acc[i][t]);
}

// All 16·nv-wide column strips of dv_padded for a group of mr rows.
AK_AVX512_INLINE void accumulate_rows(const int mr, const float *st, long ld, long cols, const float *v,
                                   long ldv, long dv_padded, float *o, long ldo, const float *alpha) {
    long x = 0;
    for (; x + 32 <= dv_padded; x += 32) accumulate_block(mr, 2, st, ld, cols, v + x, ldv, o + x, ldo, alpha);
    if (x < dv_padded) accumulate_block(mr, 1, st, ld, cols, v + x, ldv, o + x, ldo, alpha);
}

// 64 output columns at a time: 6 rows × 4 vectors (4 loads + 6 broadcasts per 24 FMAs).
AK_AVX512_INLINE void accumulate_wide(const float *st, long ld, long rows, long cols, const float *v, long ldv,
                                   float *o, long ldo, const float *alpha) {
    long r = 0;
    for (; r + 6 <= rows; r += 6) accumulate_block(6, 4, st + r, ld, cols, v, ldv, o + r * ldo, ldo, alpha + r);
    const float *sr = st + r;
    float *orow = o + r * ldo;
    const float *ar = alpha + r;
    switch (rows - r) {
    case 5: accumulate_block(5, 4, sr, ld, cols, v, ldv, orow, ldo, ar); break;
    case 4: accumulate_block(4, 4, sr, ld, cols, v, ldv, orow, ldo, ar); break;
    case 3: accumulate_block(3, 4, sr, ld, cols, v, ldv, orow, ldo, ar); break;
    case 2: accumulate_block(2, 4, sr, ld, cols, v, ldv, orow, ldo, ar); break;
    case 1: accumulate_block(1, 4, sr, ld, cols, v, ldv, orow, ldo, ar); break;
    default: break;
    }
}

AK_AVX512 static void accumulate_avx512(const float *st, long ld, long rows, long cols, const float *v,
                                     long ldv, long dv_padded, float *o, long ldo, const float *alpha) {
    long x = 0;
    for (; x + 64 <= dv_padded; x += 64) accumulate_wide(st, ld, rows, cols, v + x, ldv, o + x, ldo, alpha);
    if (x == dv_padded) return;
    v += x;
    o += x;
    dv_padded -= x;
    long r = 0;
    for (; r + ROWS <= rows; r += ROWS)
        accumulate_rows(ROWS, st + r, ld, cols, v, ldv, dv_padded, o + r * ldo, ldo, alpha + r);
    const float *sr = st + r;
    float *orow = o + r * ldo;
    const float *ar = alpha + r;
    switch (rows - r) {
    case 11: accumulate_rows(11, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 10: accumulate_rows(10, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 9: accumulate_rows(9, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 8: accumulate_rows(8, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 7: accumulate_rows(7, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 6: accumulate_rows(6, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 5: accumulate_rows(5, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 4: accumulate_rows(4, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 3: accumulate_rows(3, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 2: accumulate_rows(2, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    case 1: accumulate_rows(1, sr, ld, cols, v, ldv, dv_padded, orow, ldo, ar); break;
    default: break;
    }
}

AK_AVX512 static void scores_avx512(const float *qhat, long rows_padded, long d, const float *k, long cols,
                                 float *st, long ld) {
    // D = 32, 64 and 128 (the common head sizes) as compile-time constants: each broadcast of a key
    // element is then one address with a constant offset instead of an integer add per key row
    // (issued on the FMA ports). Same instructions otherwise, same bits.
    if (d == 64) scores_strided(qhat, rows_padded, 64, k, cols, st, ld);
    else if (d == 128) scores_strided(qhat, rows_padded, 128, k, cols, st, ld);
    else if (d == 32) scores_strided(qhat, rows_padded, 32, k, cols, st, ld);
    else scores_strided(qhat, rows_padded, d, k, cols, st, ld);
}

const ak_forward_ops ak_forward_ops_avx512 = {
    pack_queries_avx512, scores_avx512, softmax_avx512, accumulate_avx512,
};
#endif
