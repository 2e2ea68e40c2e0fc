// Few-row GEMM (see ak_sgemm_rows in ak_gemm.h): the portable loops, the AVX2+FMA variant
// compiled by attribute, and the run-time choice between them.
#include "ak_gemm.h"
#include "ak_cpu.h"
#include <string.h>

#define ROWS 4

// Row r of op(A), as a pointer and a stride between its k entries.
static inline const float *row_of(const float *a, size_t lda, int transpose_a, size_t r, size_t *step) {
    *step = transpose_a ? lda : 1;
    return transpose_a ? a + r : a + r * lda;
}

static void rows_portable(size_t rows, size_t n, size_t k, const float *a, size_t lda, int ta,
                          const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    for (size_t r = 0; r < rows; ++r) {
        size_t step;
        const float *ar = row_of(a, lda, ta, r, &step);
        float *cr = c + r * ldc;
        if (tb) {
            for (size_t j = 0; j < n; ++j) {
                const float *bj = b + j * ldb;
                float s = 0.0f;
                for (size_t p = 0; p < k; ++p) s += ar[p * step] * bj[p];
                cr[j] = accumulate ? cr[j] + s : s;
            }
        } else {
            if (!accumulate) memset(cr, 0, n * sizeof(float));
            for (size_t p = 0; p < k; ++p) {
                const float x = ar[p * step];
                const float *bp = b + p * ldb;
                for (size_t j = 0; j < n; ++j) cr[j] += x * bp[j];
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AK_TARGET __attribute__((target("avx2,fma")))

AK_TARGET static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// Up to four rows of op(A), copied contiguous (so transposed A costs one gather per row).
AK_TARGET static void rows_avx2(size_t rows, size_t n, size_t k, const float *const x[ROWS],
                                const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    if (tb) {
        for (size_t j = 0; j < n; ++j) {
            const float *bj = b + j * ldb;
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
            size_t p = 0;
            for (; p + 8 <= k; p += 8) {
                const __m256 bv = _mm256_loadu_ps(bj + p);
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x[0] + p), bv, s0);
                if (rows > 1) s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x[1] + p), bv, s1);
                if (rows > 2) s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x[2] + p), bv, s2);
                if (rows > 3) s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x[3] + p), bv, s3);
            }
            float t[ROWS] = {hsum256(s0), hsum256(s1), hsum256(s2), hsum256(s3)};
            for (; p < k; ++p)
                for (size_t r = 0; r < rows; ++r) t[r] += x[r][p] * bj[p];
            for (size_t r = 0; r < rows; ++r) c[r * ldc + j] = accumulate ? c[r * ldc + j] + t[r] : t[r];
        }
    } else {
        for (size_t r = 0; r < rows; ++r)
            if (!accumulate) memset(c + r * ldc, 0, n * sizeof(float));
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 s[ROWS];
            for (size_t r = 0; r < rows; ++r) s[r] = _mm256_loadu_ps(c + r * ldc + j);
            for (size_t p = 0; p < k; ++p) {
                const __m256 bv = _mm256_loadu_ps(b + p * ldb + j);
                for (size_t r = 0; r < rows; ++r) s[r] = _mm256_fmadd_ps(_mm256_set1_ps(x[r][p]), bv, s[r]);
            }
            for (size_t r = 0; r < rows; ++r) _mm256_storeu_ps(c + r * ldc + j, s[r]);
        }
        for (; j < n; ++j)
            for (size_t r = 0; r < rows; ++r) {
                float t = c[r * ldc + j];
                for (size_t p = 0; p < k; ++p) t += x[r][p] * b[p * ldb + j];
                c[r * ldc + j] = t;
            }
    }
}
#endif

void ak_sgemm_rows(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                   const float *b, size_t ldb, int transpose_b, float *c, size_t ldc, int accumulate, int simd) {
    if (m == 0 || n == 0) return;
#if defined(__x86_64__) || defined(__i386__)
    if (simd && ak_cpu_has_simd()) {
        // Contiguous copies of the rows only when A is transposed (its rows are strided).
        enum { STACK = 2048 };
        float stack[ROWS * STACK];
        for (size_t i = 0; i < m; i += ROWS) {
            const size_t rows = m - i < ROWS ? m - i : ROWS;
            const float *x[ROWS];
            if (!transpose_a || k > STACK) {
                if (transpose_a) {  // long strided rows: the portable loops
                    rows_portable(rows, n, k, a + i, lda, 1, b, ldb, transpose_b, c + i * ldc, ldc, accumulate);
                    continue;
                }
                for (size_t r = 0; r < ROWS; ++r) x[r] = a + (i + (r < rows ? r : 0)) * lda;
            } else {
                for (size_t r = 0; r < rows; ++r) {
                    for (size_t p = 0; p < k; ++p) stack[r * STACK + p] = a[p * lda + i + r];
                    x[r] = stack + r * STACK;
                }
                for (size_t r = rows; r < ROWS; ++r) x[r] = x[0];
            }
            rows_avx2(rows, n, k, x, b, ldb, transpose_b, c + i * ldc, ldc, accumulate);
        }
        return;
    }
#endif
    (void)simd;
    rows_portable(m, n, k, a, lda, transpose_a, b, ldb, transpose_b, c, ldc, accumulate);
}
