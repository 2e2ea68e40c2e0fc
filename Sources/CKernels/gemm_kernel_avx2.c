// AVX2+FMA 6×16 GEMM micro-kernel (x86-64), after BLIS's Haswell/Zen sgemm kernel.
//
// Register budget (16 ymm): 12 accumulators hold the 6×16 tile of C (two 8-wide vectors per
// row), two hold the current row of the B micro-panel, one the broadcast A element. Per k step:
// 2 loads + 6 broadcasts feed 12 FMAs, enough to keep both FMA pipes busy on Zen 3 / Haswell.
// Compiled for AVX2+FMA by attribute only, so the file builds without any -m flags; gemm.c
// calls it only when ak_simd_available(AK_SIMD_AVX2). The B panels are read with unaligned
// loads: a 64-byte-aligned buffer is faster, but panels packed ahead by a caller
// (ak_sgemm_prepacked) need not be aligned at all (an aligned load there faulted).
#include "gemm_internal.h"
#include "ak_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include "ak_target.h"


#define AK_ROW_FMA(r)                                          \
    do {                                                       \
        const __m256 ar = _mm256_broadcast_ss(a + (r));        \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);            \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);            \
    } while (0)

#define AK_STEP()                                              \
    do {                                                       \
        const __m256 b0 = _mm256_loadu_ps(b);                  \
        const __m256 b1 = _mm256_loadu_ps(b + 8);              \
        AK_ROW_FMA(0); AK_ROW_FMA(1); AK_ROW_FMA(2);           \
        AK_ROW_FMA(3); AK_ROW_FMA(4); AK_ROW_FMA(5);           \
        a += AK_GEMM_MR;                                       \
        b += AK_GEMM_NR;                                       \
    } while (0)

#define AK_STORE_ROW(r)                                                              \
    do {                                                                             \
        float *cr = c + (size_t)(r) * ldc;                                           \
        if (beta) {                                                                  \
            c##r##0 = _mm256_add_ps(_mm256_loadu_ps(cr), c##r##0);                   \
            c##r##1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), c##r##1);               \
        }                                                                            \
        _mm256_storeu_ps(cr, c##r##0);                                               \
        _mm256_storeu_ps(cr + 8, c##r##1);                                           \
    } while (0)

// The 12 accumulators of the 6×16 tile, zeroed, and the C tile touched early so its lines
// arrive while the k loop runs.
#define AK_TILE_START()                                                                       \
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();                             \
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();                             \
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();                             \
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();                             \
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();                             \
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();                             \
    for (int r = 0; r < AK_GEMM_MR; ++r) _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0)

AK_AVX2
void ak_gemm_kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc, int beta) {
    AK_TILE_START();

    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(a + 64), _MM_HINT_T0);
        AK_STEP();
        AK_STEP();
        _mm_prefetch((const char *)(b + 128), _MM_HINT_T0);
        AK_STEP();
        AK_STEP();
    }
    for (; p < kc; ++p) AK_STEP();

    AK_STORE_ROW(0); AK_STORE_ROW(1); AK_STORE_ROW(2);
    AK_STORE_ROW(3); AK_STORE_ROW(4); AK_STORE_ROW(5);
}

// The same tile with A read where it is stored (row-major, rows lda apart): row r's element at
// depth p is a[r·lda + p], the value the packed kernel finds at panel[p·MR + r], so every
// accumulator takes the same FMAs in the same order. Six row pointers replace the panel; each
// broadcast is a load at a constant offset from one of them.
#define AK_DIRECT_FMA(r, u)                                    \
    do {                                                       \
        const __m256 ar = _mm256_broadcast_ss(a##r + p + (u)); \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);            \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);            \
    } while (0)

#define AK_DIRECT_STEP(u)                                      \
    do {                                                       \
        const __m256 b0 = _mm256_loadu_ps(b + (u) * AK_GEMM_NR);     \
        const __m256 b1 = _mm256_loadu_ps(b + (u) * AK_GEMM_NR + 8); \
        AK_DIRECT_FMA(0, u); AK_DIRECT_FMA(1, u);              \
        AK_DIRECT_FMA(2, u); AK_DIRECT_FMA(3, u);              \
        AK_DIRECT_FMA(4, u); AK_DIRECT_FMA(5, u);              \
    } while (0)

AK_AVX2
void ak_gemm_direct_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int beta) {
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    AK_TILE_START();

    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        AK_DIRECT_STEP(0);
        AK_DIRECT_STEP(1);
        _mm_prefetch((const char *)(b + 128), _MM_HINT_T0);
        AK_DIRECT_STEP(2);
        AK_DIRECT_STEP(3);
        b += 4 * AK_GEMM_NR;
    }
    for (; p < kc; ++p) {
        AK_DIRECT_STEP(0);
        b += AK_GEMM_NR;
    }

    AK_STORE_ROW(0); AK_STORE_ROW(1); AK_STORE_ROW(2);
    AK_STORE_ROW(3); AK_STORE_ROW(4); AK_STORE_ROW(5);
}
#endif
