// AVX2+FMA micro-kernels of the fused attention backward (see attention_backward_ops.h). Each
// function carries __attribute__((target("avx2,fma"))) so the package needs no compiler flags;
// ak_backward_ops_for picks them at AK_SIMD_AVX2.
#if defined(__x86_64__)
#include "attention_backward_ops.h"
#include "ak_simd_math.h"
#include <immintrin.h>
#include "ak_target.h"
#include <math.h>

// C[0..mr, 0..16) (+)= A(0..mr, :)·B[:, 0..16): 12 accumulators, mr broadcasts and 2 loads
// of B per k. When `full` is 0 only the columns selected by m0/m1 are read and written.
AK_AVX2_INLINE void block(const int mr, const int full, const float *a, long sam, long sak, long kdim,
                       const float *b, long ldb, float *c, long ldc, int accumulate,
                       __m256i m0, __m256i m1) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < mr; r++) {
        if (!accumulate) {
            lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps();
        } else if (full) {
            lo[r] = _mm256_loadu_ps(c + r * ldc); hi[r] = _mm256_loadu_ps(c + r * ldc + 8);
        } else {
            lo[r] = _mm256_maskload_ps(c + r * ldc, m0); hi[r] = _mm256_maskload_ps(c + r * ldc + 8, m1);
        }
    }
    for (long k = 0; k < kdim; k++) {
        const float *bk = b + k * ldb;
        __m256 b0 = full ? _mm256_loadu_ps(bk) : _mm256_maskload_ps(bk, m0);
        __m256 b1 = full ? _mm256_loadu_ps(bk + 8) : _mm256_maskload_ps(bk + 8, m1);
        const float *ak = a + k * sak;
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(ak + r * sam);
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
    }
    for (int r = 0; r < mr; r++) {
        if (full) {
            _mm256_storeu_ps(c + r * ldc, lo[r]); _mm256_storeu_ps(c + r * ldc + 8, hi[r]);
        } else {
            _mm256_maskstore_ps(c + r * ldc, m0, lo[r]); _mm256_maskstore_ps(c + r * ldc + 8, m1, hi[r]);
        }
    }
}

// One 16-column strip: full 6-row blocks, then the remaining rows with a smaller block.
AK_AVX2_INLINE void strip(const int full, const float *a, long sam, long sak, long m, long kdim,
                       const float *b, long ldb, float *c, long ldc, int accumulate, __m256i m0, __m256i m1) {
    long r = 0;
    for (; r + 6 <= m; r += 6) block(6, full, a + r * sam, sam, sak, kdim, b, ldb, c + r * ldc, ldc, accumulate, m0, m1);
    const float *ar = a + r * sam;
    float *cr = c + r * ldc;
    switch (m - r) {
    case 5: block(5, full, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
    case 4: block(4, full, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
    case 3: block(3, full, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
    case 2: block(2, full, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
    case 1: block(1, full, ar, sam, sak, kdim, b, ldb, cr, ldc, accumulate, m0, m1); break;
    default: break;
    }
}

AK_AVX2 static void gemm_avx2(const float *a, long sam, long sak, long m, long kdim,
                           const float *b, long ldb, long n, float *c, long ldc, int accumulate) {
    const __m256i all = _mm256_set1_epi32(-1);
    long c0 = 0;
    for (; c0 + 16 <= n; c0 += 16) strip(1, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, all, all);
    if (c0 < n) {
        // Lanes with index < n − c0 are live: masked loads never touch memory past the row.
        const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i live0 = _mm256_set1_epi32((int)(n - c0)), live1 = _mm256_set1_epi32((int)(n - c0 - 8));
        const __m256i m0 = _mm256_cmpgt_epi32(live0, index), m1 = _mm256_cmpgt_epi32(live1, index);
        strip(0, a, sam, sak, m, kdim, b + c0, ldb, c + c0, ldc, accumulate, m0, m1);
    }
}

// Lanes c0 + t with t < n − c0 (the tail of a row), as a maskload/maskstore mask.
AK_AVX2_INLINE __m256i tail_mask(long live) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AK_AVX2 static void probabilities_avx2(float *s, long lds, long rows, long cols, const float *lse) {
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        if (lse[r] == -INFINITY) {
            for (long c = 0; c < cols; c++) row[c] = 0.0f;
            continue;
        }
        const __m256 sub = _mm256_set1_ps(lse[r]);
        long c = 0;
        for (; c + 32 <= cols; c += 32) {   // four vectors through the interleaved exp
            __m256 e[4];
            for (int i = 0; i < 4; i++) e[i] = _mm256_sub_ps(_mm256_loadu_ps(row + c + 8 * i), sub);
            ak_exp4_avx2(e);
            for (int i = 0; i < 4; i++) _mm256_storeu_ps(row + c + 8 * i, e[i]);
        }
        for (; c + 8 <= cols; c += 8)
            _mm256_storeu_ps(row + c, ak_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + c), sub)));
        if (c < cols) {   // the tail through the same polynomial, so every key rounds alike
            const __m256i m = tail_mask(cols - c);
            _mm256_maskstore_ps(row + c, m, ak_exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(row + c, m), sub)));
        }
    }
}

AK_AVX2 static void ds_avx2(float *s, const float *dp, long lds, long rows, long cols,
                         const float *delta, float scale) {
    const __m256 sc = _mm256_set1_ps(scale);
    for (long r = 0; r < rows; r++) {
        float *row = s + r * lds;
        const float *g = dp + r * lds;
        const __m256 dl = _mm256_set1_ps(delta[r]);
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 x = _mm256_mul_ps(_mm256_mul_ps(sc, _mm256_loadu_ps(row + c)),
                                     _mm256_sub_ps(_mm256_loadu_ps(g + c), dl));
            _mm256_storeu_ps(row + c, x);
        }
        for (; c < cols; c++) row[c] = scale * row[c] * (g[c] - delta[r]);
    }
}

const ak_backward_ops ak_backward_ops_avx2 = {
    gemm_avx2, probabilities_avx2, ds_avx2,
};
#endif
