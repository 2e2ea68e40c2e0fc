// Few-row GEMM (see ak_sgemm_rows in ak_gemm.h): the portable loops, the AVX2+FMA and AVX-512
// variants compiled by attribute, the NEON variant (arm64, architectural), and the run-time
// choice between them by SIMD level. Every variant sums each C entry over p with one rounding
// per step (an FMA, or a multiply and an add), in lanes and then across them, so each meets the
// budget 2(k+2)·2⁻²⁴·Σ|a||b| of GemmTests; the lane split depends only on k and the level, never
// on the rows or columns taken together or on how callers split C.
#include "ak_gemm.h"
#include "ak_cpu.h"
#include <string.h>

#define ROWS 4

/// Up to ROWS rows of op(A), each contiguous (x[r][p] for p < k), times op(B) into the matching
/// rows of C: one SIMD variant of the few-row product.
typedef void (*rows_kernel)(size_t rows, size_t n, size_t k, const float *const x[ROWS],
                            const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate);

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

#if defined(__x86_64__)
#include <immintrin.h>
#include "ak_target.h"

AK_AVX2_INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// AVX2, B stored n×k: C[r][j] = Σ_p x[r][p]·b[j][p] for R rows × J columns of 8-lane
// accumulators (R·J = 6–8 independent chains, so the FMA latency is covered even at m = 1 where
// one chain per entry left the core waiting on each FMA), then the lanes summed (hsum256) and the
// k mod 8 tail added in order. Each entry's sum depends only on k, never on R, J or the split.
AK_AVX2_INLINE void dots_avx2(const int R, const int J, size_t k, const float *const x[ROWS],
                              const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    __m256 s[ROWS][8];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) s[r][j] = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
        if (R == 1) {  // each row of B is read once: no need to hold it in a register
            const __m256 xv = _mm256_loadu_ps(x[0] + p);
            AK_UNROLL
            for (int j = 0; j < J; ++j) s[0][j] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(b + (size_t)j * ldb + p), s[0][j]);
        } else {
            __m256 bv[8];
            AK_UNROLL
            for (int j = 0; j < J; ++j) bv[j] = _mm256_loadu_ps(b + (size_t)j * ldb + p);
            AK_UNROLL
            for (int r = 0; r < R; ++r) {
                const __m256 xv = _mm256_loadu_ps(x[r] + p);
                AK_UNROLL
                for (int j = 0; j < J; ++j) s[r][j] = _mm256_fmadd_ps(xv, bv[j], s[r][j]);
            }
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) {
            const float *bj = b + (size_t)j * ldb;
            float t = hsum256(s[r][j]);
            for (size_t q = p; q < k; ++q) t += x[r][q] * bj[q];
            float *cj = c + (size_t)r * ldc + j;
            *cj = accumulate ? *cj + t : t;
        }
}

// AVX2, B stored k×n: C[r][j0 .. j0 + 8·V) (+)= Σ_p x[r][p]·b[p][...] for R rows and V 8-wide
// column vectors (R·V = 6–8 independent chains), summed over p in order from C (or 0).
AK_AVX2_INLINE void axpys_avx2(const int R, const int V, size_t k, const float *const x[ROWS],
                               const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    __m256 s[ROWS][8];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v) s[r][v] = accumulate ? _mm256_loadu_ps(c + (size_t)r * ldc + 8 * v) : _mm256_setzero_ps();
    for (size_t p = 0; p < k; ++p) {
        const float *bp = b + p * ldb;
        __m256 bv[8];
        AK_UNROLL
        for (int v = 0; v < V; ++v) bv[v] = _mm256_loadu_ps(bp + 8 * v);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m256 xv = _mm256_set1_ps(x[r][p]);
            AK_UNROLL
            for (int v = 0; v < V; ++v) s[r][v] = _mm256_fmadd_ps(xv, bv[v], s[r][v]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v) _mm256_storeu_ps(c + (size_t)r * ldc + 8 * v, s[r][v]);
}

/// R rows: J (B stored n×k) or V (k×n) chosen so R·J, R·V is 6–8 and everything fits in 16 ymm.
AK_AVX2_INLINE void rows_avx2_fixed(const int R, size_t n, size_t k, const float *const x[ROWS],
                                    const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    const int W = R == 1 ? 8 : R == 2 ? 4 : 2;
    size_t j = 0;
    if (tb) {
        for (; j + (size_t)W <= n; j += (size_t)W) dots_avx2(R, W, k, x, b + j * ldb, ldb, c + j, ldc, accumulate);
        for (; j < n; ++j) dots_avx2(R, 1, k, x, b + j * ldb, ldb, c + j, ldc, accumulate);
        return;
    }
    for (; j + 8 * (size_t)W <= n; j += 8 * (size_t)W) axpys_avx2(R, W, k, x, b + j, ldb, c + j, ldc, accumulate);
    for (; j + 8 <= n; j += 8) axpys_avx2(R, 1, k, x, b + j, ldb, c + j, ldc, accumulate);
    for (; j < n; ++j)
        for (int r = 0; r < R; ++r) {
            float t = accumulate ? c[(size_t)r * ldc + j] : 0.0f;
            for (size_t p = 0; p < k; ++p) t += x[r][p] * b[p * ldb + j];
            c[(size_t)r * ldc + j] = t;
        }
}

// Up to four rows of op(A), copied contiguous (so transposed A costs one gather per row).
AK_AVX2 static void rows_avx2(size_t rows, size_t n, size_t k, const float *const x[ROWS],
                              const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    switch (rows) {
    case 4: rows_avx2_fixed(4, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 3: rows_avx2_fixed(3, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 2: rows_avx2_fixed(2, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    default: rows_avx2_fixed(1, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    }
}

// AVX-512, B stored n×k: C[r][j] = Σ_p x[r][p]·b[j][p] for R rows and J columns at a time
// (R·J ≤ 16 independent accumulators, so the FMA latency is hidden even at m = 1), 16 lanes
// per step with a masked tail. Each entry's sum depends only on k, never on R, J or the split.
AK_AVX512_INLINE void dots512(const int R, const int J, size_t k, const float *const x[ROWS],
                          const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    __m512 s[ROWS][4];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) s[r][j] = _mm512_setzero_ps();
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 bv[4];
        AK_UNROLL
        for (int j = 0; j < J; ++j) bv[j] = _mm512_loadu_ps(b + (size_t)j * ldb + p);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m512 xv = _mm512_loadu_ps(x[r] + p);
            AK_UNROLL
            for (int j = 0; j < J; ++j) s[r][j] = _mm512_fmadd_ps(xv, bv[j], s[r][j]);
        }
    }
    if (p < k) {
        const __mmask16 live = (__mmask16)((1u << (k - p)) - 1u);
        __m512 bv[4];
        AK_UNROLL
        for (int j = 0; j < J; ++j) bv[j] = _mm512_maskz_loadu_ps(live, b + (size_t)j * ldb + p);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m512 xv = _mm512_maskz_loadu_ps(live, x[r] + p);
            AK_UNROLL
            for (int j = 0; j < J; ++j) s[r][j] = _mm512_fmadd_ps(xv, bv[j], s[r][j]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) {
            const float t = _mm512_reduce_add_ps(s[r][j]);
            float *cj = c + (size_t)r * ldc + j;
            *cj = accumulate ? *cj + t : t;
        }
}

// AVX-512, B stored k×n: C[r][j0 .. j0 + 16·V) (+)= Σ_p x[r][p]·b[p][...] for R rows and V
// 16-wide column vectors (the last one masked), summed over p in order from C (or 0).
AK_AVX512_INLINE void axpys512(const int R, const int V, size_t k, const float *const x[ROWS],
                           const float *b, size_t ldb, float *c, size_t ldc, int accumulate, __mmask16 last) {
    __m512 s[ROWS][4];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v) {
            const __mmask16 mk = v == V - 1 ? last : (__mmask16)0xFFFF;
            s[r][v] = accumulate ? _mm512_maskz_loadu_ps(mk, c + (size_t)r * ldc + 16 * v) : _mm512_setzero_ps();
        }
    for (size_t p = 0; p < k; ++p) {
        const float *bp = b + p * ldb;
        __m512 bv[4];
        AK_UNROLL
        for (int v = 0; v < V; ++v)
            bv[v] = v == V - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * v) : _mm512_loadu_ps(bp + 16 * v);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m512 xv = _mm512_set1_ps(x[r][p]);
            AK_UNROLL
            for (int v = 0; v < V; ++v) s[r][v] = _mm512_fmadd_ps(xv, bv[v], s[r][v]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v)
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, v == V - 1 ? last : (__mmask16)0xFFFF, s[r][v]);
}

AK_AVX512_INLINE void rows512_fixed(const int R, size_t n, size_t k, const float *const x[ROWS],
                                const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    if (tb) {
        size_t j = 0;
        for (; j + 4 <= n; j += 4) dots512(R, 4, k, x, b + j * ldb, ldb, c + j, ldc, accumulate);
        switch (n - j) {
        case 3: dots512(R, 3, k, x, b + j * ldb, ldb, c + j, ldc, accumulate); break;
        case 2: dots512(R, 2, k, x, b + j * ldb, ldb, c + j, ldc, accumulate); break;
        case 1: dots512(R, 1, k, x, b + j * ldb, ldb, c + j, ldc, accumulate); break;
        default: break;
        }
    } else {
        const __mmask16 all = 0xFFFF;
        size_t j = 0;
        for (; j + 64 <= n; j += 64) axpys512(R, 4, k, x, b + j, ldb, c + j, ldc, accumulate, all);
        for (; j + 16 <= n; j += 16) axpys512(R, 1, k, x, b + j, ldb, c + j, ldc, accumulate, all);
        if (j < n) axpys512(R, 1, k, x, b + j, ldb, c + j, ldc, accumulate, (__mmask16)((1u << (n - j)) - 1u));
    }
}

AK_AVX512 static void rows_avx512(size_t rows, size_t n, size_t k, const float *const x[ROWS],
                                     const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    switch (rows) {
    case 4: rows512_fixed(4, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 3: rows512_fixed(3, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 2: rows512_fixed(2, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    default: rows512_fixed(1, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    }
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>
#include "ak_target.h"

// NEON, B stored n×k: C[r][j] = Σ_p x[r][p]·b[j][p] for R rows × J columns of 4-lane
// accumulators (R·J ≤ 16, at least 8 at m = 1, so the FMA latency is covered while B streams
// by), then the lanes summed (`vaddvq_f32`) and the k mod 4 tail added in order. Each entry's
// sum depends only on k, never on R, J or the split.
AK_NEON_INLINE void dots_neon(const int R, const int J, size_t k, const float *const x[ROWS],
                              const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    float32x4_t s[ROWS][8];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) s[r][j] = vdupq_n_f32(0.0f);
    size_t p = 0;
    for (; p + 4 <= k; p += 4) {
        float32x4_t bv[8];
        AK_UNROLL
        for (int j = 0; j < J; ++j) bv[j] = vld1q_f32(b + (size_t)j * ldb + p);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const float32x4_t xv = vld1q_f32(x[r] + p);
            AK_UNROLL
            for (int j = 0; j < J; ++j) s[r][j] = vfmaq_f32(s[r][j], xv, bv[j]);
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int j = 0; j < J; ++j) {
            const float *bj = b + (size_t)j * ldb;
            float t = vaddvq_f32(s[r][j]);
            for (size_t q = p; q < k; ++q) t = __builtin_fmaf(x[r][q], bj[q], t);
            float *cj = c + (size_t)r * ldc + j;
            *cj = accumulate ? *cj + t : t;
        }
}

// NEON, B stored k×n: C[r][j0 .. j0 + 4·V) (+)= Σ_p x[r][p]·b[p][...] for R rows and V 4-wide
// column vectors, summed over p in order from C (or 0), one FMA per step.
AK_NEON_INLINE void axpys_neon(const int R, const int V, size_t k, const float *const x[ROWS],
                               const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    float32x4_t s[ROWS][8];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v) s[r][v] = accumulate ? vld1q_f32(c + (size_t)r * ldc + 4 * v) : vdupq_n_f32(0.0f);
    for (size_t p = 0; p < k; ++p) {
        const float *bp = b + p * ldb;
        float32x4_t bv[8];
        AK_UNROLL
        for (int v = 0; v < V; ++v) bv[v] = vld1q_f32(bp + 4 * v);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const float xr = x[r][p];
            AK_UNROLL
            for (int v = 0; v < V; ++v) s[r][v] = vfmaq_n_f32(s[r][v], bv[v], xr);
        }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int v = 0; v < V; ++v) vst1q_f32(c + (size_t)r * ldc + 4 * v, s[r][v]);
}

/// The last n mod 4 columns of B stored k×n, one FMA per step as in axpys_neon.
AK_NEON_INLINE void axpys_scalar(const int R, size_t n, size_t k, const float *const x[ROWS],
                                 const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    for (int r = 0; r < R; ++r)
        for (size_t j = 0; j < n; ++j) {
            float t = accumulate ? c[(size_t)r * ldc + j] : 0.0f;
            for (size_t p = 0; p < k; ++p) t = __builtin_fmaf(x[r][p], b[p * ldb + j], t);
            c[(size_t)r * ldc + j] = t;
        }
}

/// R rows: 8 accumulators at one row, 16 at two to four (of the 32 q registers), plus the
/// operand loads.
AK_NEON_INLINE void rows_neon_fixed(const int R, size_t n, size_t k, const float *const x[ROWS],
                                    const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    if (tb) {
        const int J = R == 1 ? 8 : 4;
        size_t j = 0;
        for (; j + (size_t)J <= n; j += (size_t)J) dots_neon(R, J, k, x, b + j * ldb, ldb, c + j, ldc, accumulate);
        for (; j < n; ++j) dots_neon(R, 1, k, x, b + j * ldb, ldb, c + j, ldc, accumulate);
    } else {
        const int V = R <= 2 ? 8 : 4;
        size_t j = 0;
        for (; j + 4 * (size_t)V <= n; j += 4 * (size_t)V) axpys_neon(R, V, k, x, b + j, ldb, c + j, ldc, accumulate);
        for (; j + 4 <= n; j += 4) axpys_neon(R, 1, k, x, b + j, ldb, c + j, ldc, accumulate);
        if (j < n) axpys_scalar(R, n - j, k, x, b + j, ldb, c + j, ldc, accumulate);
    }
}

static void rows_neon(size_t rows, size_t n, size_t k, const float *const x[ROWS],
                      const float *b, size_t ldb, int tb, float *c, size_t ldc, int accumulate) {
    switch (rows) {
    case 4: rows_neon_fixed(4, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 3: rows_neon_fixed(3, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    case 2: rows_neon_fixed(2, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    default: rows_neon_fixed(1, n, k, x, b, ldb, tb, c, ldc, accumulate); break;
    }
}
#endif

/// The vector variant for a clamped level, or NULL for the portable loops.
static rows_kernel kernel_for(int level) {
    switch (level) {
#if defined(__x86_64__)
    case AK_SIMD_AVX512: return rows_avx512;
    case AK_SIMD_AVX2: return rows_avx2;
#endif
#if defined(__aarch64__)
    case AK_SIMD_NEON: return rows_neon;
#endif
    default: return NULL;
    }
}

void ak_sgemm_rows(size_t m, size_t n, size_t k, const float *a, size_t lda, int transpose_a,
                   const float *b, size_t ldb, int transpose_b, float *c, size_t ldc, int accumulate, int level) {
    if (m == 0 || n == 0) return;
    const rows_kernel kernel = kernel_for(ak_simd_clamp(level));
    if (kernel == NULL) {
        rows_portable(m, n, k, a, lda, transpose_a, b, ldb, transpose_b, c, ldc, accumulate);
        return;
    }
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
        kernel(rows, n, k, x, b, ldb, transpose_b, c + i * ldc, ldc, accumulate);
    }
}
