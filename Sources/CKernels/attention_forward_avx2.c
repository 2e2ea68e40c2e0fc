// AVX2+FMA micro-kernels of the fused attention forward (layouts in attention_forward_ops.h).
// Each function carries __attribute__((target("avx2,fma"))), so the package needs no compiler
// flags; attention_forward.c uses them at AK_SIMD_AVX2 (see ak_forward_ops_for).
//
// Both products use 6×16 register blocks (12 accumulators, two 8-wide loads and one broadcast:
// 15 of the 16 ymm registers). Per step, 2 loads + 6 broadcasts feed 12 FMAs, which keeps both
// FMA pipes of Zen 3 / Haswell busy from L1.
#if defined(__x86_64__)
#include "attention_forward_ops.h"
#include "ak_simd_math.h"
#include <immintrin.h>
#include "ak_target.h"
#include <math.h>

AK_AVX2 static void pack_queries_avx2(const float *q, long rows, long rows_padded, long d, float scale,
                                   float *qhat) {
    // A transpose, once per query block and reused by every key tile: plain loops suffice.
    const __m256 zero = _mm256_setzero_ps();
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        float *panel = qhat + p0 * d;
        for (long k = 0; k < d; k++) {
            _mm256_storeu_ps(panel + k * 16, zero);
            _mm256_storeu_ps(panel + k * 16 + 8, zero);
        }
        const long width = rows - p0 < 16 ? rows - p0 : 16;
        for (long t = 0; t < width; t++) {
            const float *row = q + (p0 + t) * d;
            for (long k = 0; k < d; k++) panel[k * 16 + t] = scale * row[k];
        }
    }
}

// Sᵀ[i][0..16) = Σₖ key[i][k]·panel[k][0..16) for i < mr (keys), over 16 queries.
AK_AVX2_INLINE void scores_block(const int mr, const float *panel, long d, const float *k,
                              float *st, long ld) {
    __m256 lo[6], hi[6];
    for (int i = 0; i < mr; i++) { lo[i] = _mm256_setzero_ps(); hi[i] = _mm256_setzero_ps(); }
    for (long kk = 0; kk < d; kk++) {
        const __m256 b0 = _mm256_loadu_ps(panel + kk * 16), b1 = _mm256_loadu_ps(panel + kk * 16 + 8);
        for (int i = 0; i < mr; i++) {
            const __m256 a = _mm256_broadcast_ss(k + i * d + kk);
            lo[i] = _mm256_fmadd_ps(a, b0, lo[i]);
            hi[i] = _mm256_fmadd_ps(a, b1, hi[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(st + i * ld, lo[i]);
        _mm256_storeu_ps(st + i * ld + 8, hi[i]);
    }
}

AK_AVX2 static void scores_avx2(const float *qhat, long rows_padded, long d, const float *k, long cols,
                             float *st, long ld) {
    for (long p0 = 0; p0 < rows_padded; p0 += 16) {
        const float *panel = qhat + p0 * d;
        long c = 0;
        for (; c + 6 <= cols; c += 6) scores_block(6, panel, d, k + c * d, st + c * ld + p0, ld);
        const float *kc = k + c * d;
        float *sc = st + c * ld + p0;
        switch (cols - c) {
        case 5: scores_block(5, panel, d, kc, sc, ld); break;
        case 4: scores_block(4, panel, d, kc, sc, ld); break;
        case 3: scores_block(3, panel, d, kc, sc, ld); break;
        case 2: scores_block(2, panel, d, kc, sc, ld); break;
        case 1: scores_block(1, panel, d, kc, sc, ld); break;
        default: break;
        }
    }
}

AK_AVX2 static void softmax_avx2(float *st, long ld, long rows_padded, long cols, float *m, float *l,
                              float *alpha) {
    const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
    for (long r = 0; r < rows_padded; r += 8) {
        __m256 mx0 = minus_inf, mx1 = minus_inf;
        long c = 0;
        for (; c + 2 <= cols; c += 2) {
            mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(st + c * ld + r));
            mx1 = _mm256_max_ps(mx1, _mm256_loadu_ps(st + (c + 1) * ld + r));
        }
        if (c < cols) mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(st + c * ld + r));
        const __m256 m_old = _mm256_loadu_ps(m + r);
        const __m256 m_new = _mm256_max_ps(m_old, _mm256_max_ps(mx0, mx1));
        // μ = 0 where nothing is allowed yet, so exp(−inf − μ) is 0 rather than NaN.
        const __m256 mu = _mm256_andnot_ps(_mm256_cmp_ps(m_new, minus_inf, _CMP_EQ_OQ), m_new);
        const __m256 a = ak_exp_avx2(_mm256_sub_ps(m_old, mu));
        __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
        c = 0;
        // Four columns at a time through the interleaved exp; the sums alternate as in the pairs
        // below (even columns into sum0, odd into sum1), so the order of every sum is unchanged.
        for (; c + 4 <= cols; c += 4) {
            __m256 e[4];
            for (int i = 0; i < 4; i++) e[i] = _mm256_sub_ps(_mm256_loadu_ps(st + (c + i) * ld + r), mu);
            ak_exp4_avx2(e);
            for (int i = 0; i < 4; i++) _mm256_storeu_ps(st + (c + i) * ld + r, e[i]);
            sum0 = _mm256_add_ps(sum0, e[0]);
            sum1 = _mm256_add_ps(sum1, e[1]);
            sum0 = _mm256_add_ps(sum0, e[2]);
            sum1 = _mm256_add_ps(sum1, e[3]);
        }
        for (; c + 2 <= cols; c += 2) {
            const __m256 e0 = ak_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(st + c * ld + r), mu));
            const __m256 e1 = ak_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(st + (c + 1) * ld + r), mu));
            _mm256_storeu_ps(st + c * ld + r, e0);
            _mm256_storeu_ps(st + (c + 1) * ld + r, e1);
            sum0 = _mm256_add_ps(sum0, e0);
            sum1 = _mm256_add_ps(sum1, e1);
        }
        if (c < cols) {
            const __m256 e0 = ak_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(st + c * ld + r), mu));
            _mm256_storeu_ps(st + c * ld + r, e0);
            sum0 = _mm256_add_ps(sum0, e0);
        }
        _mm256_storeu_ps(alpha + r, a);
        _mm256_storeu_ps(l + r, _mm256_fmadd_ps(a, _mm256_loadu_ps(l + r), _mm256_add_ps(sum0, sum1)));
        _mm256_storeu_ps(m + r, m_new);
    }
}

// O[i][0..16) ← α[i]·O[i][0..16) + Σ_c Sᵀ[c][i]·v[c][0..16) for i < mr (queries).
AK_AVX2_INLINE void accumulate_block(const int mr, const float *st, long ld, long cols, const float *v,
                                  long ldv, float *o, long ldo, const float *alpha) {
    __m256 lo[6], hi[6];
    for (int i = 0; i < mr; i++) {
        const __m256 a = _mm256_broadcast_ss(alpha + i);
        lo[i] = _mm256_mul_ps(a, _mm256_loadu_ps(o + i * ldo));
        hi[i] = _mm256_mul_ps(a, _mm256_loadu_ps(o + i * ldo + 8));
    }
    for (long c = 0; c < cols; c++) {
        const __m256 b0 = _mm256_loadu_ps(v + c * ldv), b1 = _mm256_loadu_ps(v + c * ldv + 8);
        for (int i = 0; i < mr; i++) {
            const __m256 p = _mm256_broadcast_ss(st + c * ld + i);
            lo[i] = _mm256_fmadd_ps(p, b0, lo[i]);
            hi[i] = _mm256_fmadd_ps(p, b1, hi[i]);
        }
    }
    for (int i = 0; i < mr; i++) {
        _mm256_storeu_ps(o + i * ldo, lo[i]);
        _mm256_storeu_ps(o + i * ldo + 8, hi[i]);
    }
}

AK_AVX2 static void accumulate_avx2(const float *st, long ld, long rows, long cols, const float *v,
                                 long ldv, long dv_padded, float *o, long ldo, const float *alpha) {
    long r = 0;
    for (; r + 6 <= rows; r += 6)
        for (long x = 0; x < dv_padded; x += 16)
            accumulate_block(6, st + r, ld, cols, v + x, ldv, o + r * ldo + x, ldo, alpha + r);
    if (r == rows) return;
    for (long x = 0; x < dv_padded; x += 16) {
        const float *sr = st + r;
        float *orx = o + r * ldo + x;
        switch (rows - r) {
        case 5: accumulate_block(5, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 4: accumulate_block(4, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 3: accumulate_block(3, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 2: accumulate_block(2, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        case 1: accumulate_block(1, sr, ld, cols, v + x, ldv, orx, ldo, alpha + r); break;
        default: break;
        }
    }
}

const ak_forward_ops ak_forward_ops_avx2 = {
    pack_queries_avx2, scores_avx2, softmax_avx2, accumulate_avx2,
};
#endif
