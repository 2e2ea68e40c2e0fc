// AVX2+FMA versions of the attention tile micro-kernels (see attention_tile.h). Each function
// carries __attribute__((target("avx2,fma"))) so the package needs no compiler flags; the
// dispatcher in attention_tile.c uses them only when the CPU reports AVX2 and FMA.
#if defined(__x86_64__)
#include "attention_tile.h"
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

// exp(x) for 8 lanes: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by Cephes' degree-7 polynomial
// (relative error ≈ 1e-7), 2ⁿ built in the exponent bits. Inputs below −87.3 (including −inf,
// the masked scores) give exactly 0, so masked keys contribute nothing to the sums.
AVX2_INLINE __m256 exp8(__m256 x) {
    const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(underflow, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

AVX2 static void pack_rows_avx2(const float *b, long n, long kdim, long ldb, float *packed) {
    // A transpose; memory-bound and small next to the products, so plain loops suffice.
    for (long j0 = 0; j0 < n; j0 += 16) {
        float *panel = packed + (j0 / 16) * kdim * 16;
        long width = n - j0 < 16 ? n - j0 : 16;
        for (long jj = 0; jj < 16; jj++) {
            if (jj < width) {
                const float *row = b + (j0 + jj) * ldb;
                for (long k = 0; k < kdim; k++) panel[k * 16 + jj] = row[k];
            } else {
                for (long k = 0; k < kdim; k++) panel[k * 16 + jj] = 0.0f;
            }
        }
    }
}

// C[0..mr, 0..16) = A[0..mr, :]·panel: mr broadcasts and 2·mr FMAs per k.
AVX2_INLINE void abt_block(const int mr, const float *a, long lda, long kdim, const float *panel,
                           float *c, long ldc) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < mr; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
    for (long k = 0; k < kdim; k++) {
        __m256 b0 = _mm256_loadu_ps(panel + k * 16), b1 = _mm256_loadu_ps(panel + k * 16 + 8);
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * lda + k);
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(c + r * ldc, lo[r]);
        _mm256_storeu_ps(c + r * ldc + 8, hi[r]);
    }
}

AVX2 static void abt_avx2(const float *a, long lda, long m, long kdim, const float *packed, long n,
                          float *c, long ldc) {
    for (long j0 = 0; j0 < n; j0 += 16) {
        const float *panel = packed + (j0 / 16) * kdim * 16;
        long r = 0;
        for (; r + 6 <= m; r += 6) abt_block(6, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc);
        switch (m - r) {
        case 5: abt_block(5, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc); break;
        case 4: abt_block(4, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc); break;
        case 3: abt_block(3, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc); break;
        case 2: abt_block(2, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc); break;
        case 1: abt_block(1, a + r * lda, lda, kdim, panel, c + r * ldc + j0, ldc); break;
        default: break;
        }
    }
}

// C[0..mr, 0..16) += A(0..mr, :)·B[:, 0..16).
AVX2_INLINE void ab_block(const int mr, const float *a, long sam, long sak, long kdim,
                          const float *b, long ldb, float *c, long ldc) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < mr; r++) {
        lo[r] = _mm256_loadu_ps(c + r * ldc);
        hi[r] = _mm256_loadu_ps(c + r * ldc + 8);
    }
    for (long k = 0; k < kdim; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * sam + k * sak);
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm256_storeu_ps(c + r * ldc, lo[r]);
        _mm256_storeu_ps(c + r * ldc + 8, hi[r]);
    }
}

AVX2 static void ab_acc_avx2(const float *a, long sam, long sak, long m, long kdim,
                             const float *b, long ldb, long n, float *c, long ldc) {
    long c0 = 0;
    for (; c0 + 16 <= n; c0 += 16) {
        long r = 0;
        for (; r + 6 <= m; r += 6) ab_block(6, a + r * sam, sam, sak, kdim, b + c0, ldb, c + r * ldc + c0, ldc);
        const float *ar = a + r * sam;
        float *cr = c + r * ldc + c0;
        switch (m - r) {
        case 5: ab_block(5, ar, sam, sak, kdim, b + c0, ldb, cr, ldc); break;
        case 4: ab_block(4, ar, sam, sak, kdim, b + c0, ldb, cr, ldc); break;
        case 3: ab_block(3, ar, sam, sak, kdim, b + c0, ldb, cr, ldc); break;
        case 2: ab_block(2, ar, sam, sak, kdim, b + c0, ldb, cr, ldc); break;
        case 1: ab_block(1, ar, sam, sak, kdim, b + c0, ldb, cr, ldc); break;
        default: break;
        }
    }
    if (c0 < n) {   // the last n mod 16 columns
        for (long r = 0; r < m; r++)
            for (long k = 0; k < kdim; k++) {
                float av = a[r * sam + k * sak];
                for (long col = c0; col < n; col++) c[r * ldc + col] += av * b[k * ldb + col];
            }
    }
}

AVX2_INLINE float hmax8(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

AVX2_INLINE float hsum8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

AVX2 static float row_max_avx2(const float *x, long n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    long j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
    float result = hmax8(m);
    for (; j < n; j++) result = x[j] > result ? x[j] : result;
    return result;
}

AVX2 static float exp_sub_sum_avx2(float *x, long n, float sub) {
    const __m256 s = _mm256_set1_ps(sub);
    __m256 sum = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
        _mm256_storeu_ps(x + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (j < n) {   // tail through the same polynomial so every lane rounds alike
        float tmp[8];
        long rest = n - j;
        for (long t = 0; t < 8; t++) tmp[t] = t < rest ? x[j + t] : -INFINITY;
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tmp), s));
        _mm256_storeu_ps(tmp, e);
        for (long t = 0; t < rest; t++) x[j + t] = tmp[t];
        sum = _mm256_add_ps(sum, e);
    }
    return hsum8(sum);
}

const ak_tile_ops ak_avx2_tile_ops = {
    pack_rows_avx2, abt_avx2, ab_acc_avx2, row_max_avx2, exp_sub_sum_avx2,
};
#endif
