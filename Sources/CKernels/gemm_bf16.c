// BF16 inference GEMM (see include/ak_bf16.h for the arithmetic every variant follows):
// rounding and packing, the portable, AVX2+FMA and AVX512-BF16 tiles, and the driver.
#include "ak_bf16.h"
#include "ak_cpu.h"
#include <string.h>

/// Rows of x rounded into the scratch at a time (the AVX-512 tile's height).
#define BF16_MR 12
/// Columns per packed panel; uint16 per pair step of a panel.
#define PANEL 16
#define PANEL_STEP (2 * PANEL)

static inline uint32_t bits_of(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static inline float float_of(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

uint16_t ak_bf16_from_float(float x) {
    uint32_t u = bits_of(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);  // quiet NaN
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);           // ±0, subnormals
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even (may carry into ±inf)
    return (uint16_t)(u >> 16);
}

float ak_float_from_bf16(uint16_t bits) { return float_of((uint32_t)bits << 16); }

void ak_bf16_round(const float *x, uint16_t *out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = ak_bf16_from_float(x[i]);
}

static inline size_t pairs_of(size_t k) { return (k + 1) / 2; }
static inline size_t panels_of(size_t n) { return (n + PANEL - 1) / PANEL; }

size_t ak_bf16_packed_count(size_t n, size_t k) { return panels_of(n) * pairs_of(k) * PANEL_STEP; }

void ak_bf16_pack_weights(const float *w, size_t n, size_t k, size_t ldw, uint16_t *packed) {
    const size_t kp = pairs_of(k);
    for (size_t t = 0; t < panels_of(n); ++t) {
        uint16_t *panel = packed + t * kp * PANEL_STEP;
        for (size_t q = 0; q < kp; ++q)
            for (size_t c = 0; c < PANEL; ++c) {
                const size_t j = t * PANEL + c;
                for (size_t h = 0; h < 2; ++h) {
                    const size_t p = 2 * q + h;
                    panel[q * PANEL_STEP + 2 * c + h] = (j < n && p < k) ? ak_bf16_from_float(w[j * ldw + p]) : 0;
                }
            }
    }
}

size_t ak_bf16_scratch_count(size_t k) { return BF16_MR * 2 * pairs_of(k); }

/// Rows i0 ..< i0+rows of x rounded to BF16 into the scratch, 2·⌈k/2⌉ per row (zero-padded).
static void round_rows(const float *x, size_t ldx, size_t rows, size_t k, uint16_t *scratch) {
    const size_t stride = 2 * pairs_of(k);
    for (size_t r = 0; r < rows; ++r) {
        ak_bf16_round(x + r * ldx, scratch + r * stride, k);
        if (k % 2) scratch[r * stride + k] = 0;
    }
}

/// The columns of one panel that exist (the last panel may be partial).
static inline size_t live_columns(size_t column, size_t n) { return n - column < PANEL ? n - column : PANEL; }

/// acc (which started from C when accumulating) + bias, written to one row's `valid` columns.
static inline void finish_store(const float *acc, float *c, const float *bias, size_t valid) {
    for (size_t j = 0; j < valid; ++j) c[j] = bias ? acc[j] + bias[j] : acc[j];
}

// MARK: portable

/// One output: the pair sequence of ak_bf16.h, with FP32 FMAs of exact products.
static void tile_portable(size_t rows, size_t n, size_t kp, const uint16_t *xs, size_t xstride,
                          const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    for (size_t r = 0; r < rows; ++r) {
        const uint32_t *xr = (const uint32_t *)(const void *)(xs + r * xstride);
        for (size_t t = 0; t * PANEL < n; ++t) {
            const uint32_t *panel = (const uint32_t *)(const void *)(panels + t * kp * PANEL_STEP);
            const size_t valid = live_columns(t * PANEL, n);
            float acc[PANEL];
            for (size_t j = 0; j < PANEL; ++j) acc[j] = (accumulate && j < valid) ? c[r * ldc + t * PANEL + j] : 0.0f;
            for (size_t q = 0; q < kp; ++q) {
                const float xe = float_of(xr[q] << 16), xo = float_of(xr[q] & 0xffff0000u);
                for (size_t j = 0; j < PANEL; ++j) {
                    const uint32_t wp = panel[q * PANEL + j];
                    acc[j] = __builtin_fmaf(xo, float_of(wp & 0xffff0000u), acc[j]);
                    acc[j] = __builtin_fmaf(xe, float_of(wp << 16), acc[j]);
                }
            }
            finish_store(acc, c + r * ldc + t * PANEL, bias ? bias + t * PANEL : NULL, valid);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <cpuid.h>
#include "ak_target.h"

#define AK_AVX512BF16_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define AK_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

int ak_cpu_has_avx512_bf16(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    v = 0;
    if (ak_simd_available(AK_SIMD_AVX512) && __get_cpuid_max(0, 0) >= 7) {
        unsigned a, b, c, d;
        __cpuid_count(7, 1, a, b, c, d);
        v = (int)((a >> 5) & 1u);
    }
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

// AVX2: the weights of 8 columns × one pair are one 256-bit load; the even weights are the low
// halves shifted up, the odd ones the high halves masked. R rows × J panels × 2 halves of
// accumulators (R·J ≤ 4, so ≤ 8 registers), each summing its outputs in the pair order.
AK_AVX2_INLINE void tile_avx2(const int R, const int J, size_t kp, const uint16_t *xs, size_t xstride,
                              const uint16_t *panels, size_t n, const float *bias, float *c, size_t ldc, int accumulate) {
    __m256 acc[4][4][2];
    float spill[PANEL];
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int t = 0; t < J; ++t) {
            const size_t valid = live_columns((size_t)t * PANEL, n);
            for (size_t j = 0; j < PANEL; ++j) spill[j] = (accumulate && j < valid) ? c[r * ldc + t * PANEL + j] : 0.0f;
            acc[r][t][0] = _mm256_loadu_ps(spill);
            acc[r][t][1] = _mm256_loadu_ps(spill + 8);
        }
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t q = 0; q < kp; ++q) {
        __m256 xe[4], xo[4];
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            uint32_t pair;
            memcpy(&pair, xs + (size_t)r * xstride + 2 * q, 4);
            xe[r] = _mm256_set1_ps(float_of(pair << 16));
            xo[r] = _mm256_set1_ps(float_of(pair & 0xffff0000u));
        }
        AK_UNROLL
        for (int t = 0; t < J; ++t)
            AK_UNROLL
            for (int h = 0; h < 2; ++h) {
                const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(panels + ((size_t)t * kp + q) * PANEL_STEP + 16 * h));
                const __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
                const __m256 wo = _mm256_castsi256_ps(_mm256_and_si256(w, high));
                AK_UNROLL
                for (int r = 0; r < R; ++r) {
                    acc[r][t][h] = _mm256_fmadd_ps(xo[r], wo, acc[r][t][h]);
                    acc[r][t][h] = _mm256_fmadd_ps(xe[r], we, acc[r][t][h]);
                }
            }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int t = 0; t < J; ++t) {
            _mm256_storeu_ps(spill, acc[r][t][0]);
            _mm256_storeu_ps(spill + 8, acc[r][t][1]);
            finish_store(spill, c + r * ldc + t * PANEL, bias ? bias + t * PANEL : NULL,
                         live_columns((size_t)t * PANEL, n));
        }
}

AK_AVX2 static void rows_avx2(size_t rows, size_t n, size_t kp, const uint16_t *xs, size_t xstride,
                              const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    for (size_t i = 0; i < rows;) {
        const size_t R = rows - i >= 4 ? 4 : rows - i;
        const size_t jmax = R == 1 ? 4 : R == 2 ? 2 : 1;
        for (size_t t = 0; t * PANEL < n;) {
            size_t J = panels_of(n) - t;
            if (J > jmax) J = jmax;
            const uint16_t *x0 = xs + i * xstride;
            const uint16_t *p0 = panels + t * kp * PANEL_STEP;
            float *c0 = c + i * ldc + t * PANEL;
            const float *b0 = bias ? bias + t * PANEL : NULL;
            const size_t nn = n - t * PANEL;
#define AVX2_CASE(RR, JJ) if (R == RR && J == JJ) tile_avx2(RR, JJ, kp, x0, xstride, p0, nn, b0, c0, ldc, accumulate); else
            AVX2_CASE(1, 1) AVX2_CASE(1, 2) AVX2_CASE(1, 3) AVX2_CASE(1, 4) AVX2_CASE(2, 1) AVX2_CASE(2, 2)
            AVX2_CASE(3, 1) AVX2_CASE(4, 1) {}
#undef AVX2_CASE
            t += J;
        }
        i += R;
    }
}

// AVX512-BF16: one `vdpbf16ps` adds, in each of 16 lanes, x̂ odd·Ŵ odd then x̂ even·Ŵ even, the
// pair step of ak_bf16.h. A row's pair is broadcast as one 32-bit word. R rows × J panels of
// accumulators: 12 × 2 (24 zmm) for tall blocks, up to 4 × 4 for the few rows of decoding.
AK_AVX512BF16_INLINE void tile_avx512(const int R, const int J, size_t kp, const uint16_t *xs, size_t xstride,
                                       const uint16_t *panels, size_t n, const float *bias, float *c, size_t ldc, int accumulate) {
    __m512 acc[BF16_MR][4];
    __mmask16 live[4];
    AK_UNROLL
    for (int t = 0; t < J; ++t) {
        const size_t valid = live_columns((size_t)t * PANEL, n);
        live[t] = (__mmask16)(valid >= 16 ? 0xffffu : (1u << valid) - 1u);
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int t = 0; t < J; ++t)
            acc[r][t] = accumulate ? _mm512_maskz_loadu_ps(live[t], c + (size_t)r * ldc + t * PANEL) : _mm512_setzero_ps();
    for (size_t q = 0; q < kp; ++q) {
        __m512i w[4];
        AK_UNROLL
        for (int t = 0; t < J; ++t) w[t] = _mm512_loadu_si512(panels + ((size_t)t * kp + q) * PANEL_STEP);
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            uint32_t pair;
            memcpy(&pair, xs + (size_t)r * xstride + 2 * q, 4);
            const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)pair);
            AK_UNROLL
            for (int t = 0; t < J; ++t) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], xv, (__m512bh)w[t]);
        }
    }
    AK_UNROLL
    for (int t = 0; t < J; ++t) {
        const __m512 b = bias ? _mm512_maskz_loadu_ps(live[t], bias + t * PANEL) : _mm512_setzero_ps();
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m512 v = bias ? _mm512_add_ps(acc[r][t], b) : acc[r][t];
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + t * PANEL, live[t], v);
        }
    }
}

AK_AVX512BF16 static void rows_avx512(size_t rows, size_t n, size_t kp, const uint16_t *xs, size_t xstride,
                                      const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    for (size_t i = 0; i < rows;) {
        const size_t R = rows - i >= BF16_MR ? BF16_MR : rows - i;
        const size_t jmax = R <= 4 ? 4 : 2;
        for (size_t t = 0; t * PANEL < n;) {
            size_t J = panels_of(n) - t;
            if (J > jmax) J = jmax;
            const uint16_t *x0 = xs + i * xstride;
            const uint16_t *p0 = panels + t * kp * PANEL_STEP;
            float *c0 = c + i * ldc + t * PANEL;
            const float *b0 = bias ? bias + t * PANEL : NULL;
            const size_t nn = n - t * PANEL;
#define TALL(RR) if (R == RR && J == 1) tile_avx512(RR, 1, kp, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
                 else if (R == RR) tile_avx512(RR, 2, kp, x0, xstride, p0, nn, b0, c0, ldc, accumulate); else
#define SHORT(RR, JJ) if (R == RR && J == JJ) tile_avx512(RR, JJ, kp, x0, xstride, p0, nn, b0, c0, ldc, accumulate); else
            SHORT(1, 1) SHORT(1, 2) SHORT(1, 3) SHORT(1, 4) SHORT(2, 1) SHORT(2, 2) SHORT(2, 3) SHORT(2, 4)
            SHORT(3, 1) SHORT(3, 2) SHORT(3, 3) SHORT(3, 4) SHORT(4, 1) SHORT(4, 2) SHORT(4, 3) SHORT(4, 4)
            TALL(5) TALL(6) TALL(7) TALL(8) TALL(9) TALL(10) TALL(11) TALL(12) {}
#undef TALL
#undef SHORT
            t += J;
        }
        i += R;
    }
}
#else
int ak_cpu_has_avx512_bf16(void) { return 0; }
#endif

int ak_bf16_clamp(int variant) {
#if defined(__x86_64__)
    if (variant >= AK_BF16_AVX512 && ak_cpu_has_avx512_bf16()) return AK_BF16_AVX512;
    if (variant >= AK_BF16_AVX2 && ak_simd_available(AK_SIMD_AVX2)) return AK_BF16_AVX2;
#else
    (void)variant;
#endif
    return AK_BF16_PORTABLE;
}

int ak_bf16_variant_for_level(int level) {
    const int clamped = ak_simd_clamp(level);
    if (clamped >= AK_SIMD_AVX512) return ak_bf16_clamp(AK_BF16_AVX512);
    if (clamped >= AK_SIMD_AVX2) return ak_bf16_clamp(AK_BF16_AVX2);
    return AK_BF16_PORTABLE;
}

const char *ak_bf16_variant_name(int variant) {
    switch (variant) {
    case AK_BF16_AVX2: return "avx2+fma";
    case AK_BF16_AVX512: return "avx512-bf16";
    default: return "portable";
    }
}

void ak_bf16_gemm(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                  const uint16_t *packed, size_t j0, const float *bias,
                  float *c, size_t ldc, int accumulate, uint16_t *scratch, int variant) {
    if (m == 0 || n == 0) return;
    const size_t kp = pairs_of(k), xstride = 2 * kp;
    const uint16_t *panels = packed + (j0 / PANEL) * kp * PANEL_STEP;
    const float *b = bias ? bias + j0 : NULL;
    variant = ak_bf16_clamp(variant);
    for (size_t i = 0; i < m; i += BF16_MR) {
        const size_t rows = m - i < BF16_MR ? m - i : BF16_MR;
        round_rows(x + i * ldx, ldx, rows, k, scratch);
        float *ci = c + i * ldc;
        switch (variant) {
#if defined(__x86_64__)
        case AK_BF16_AVX512: rows_avx512(rows, n, kp, scratch, xstride, panels, b, ci, ldc, accumulate); break;
        case AK_BF16_AVX2: rows_avx2(rows, n, kp, scratch, xstride, panels, b, ci, ldc, accumulate); break;
#endif
        default: tile_portable(rows, n, kp, scratch, xstride, panels, b, ci, ldc, accumulate); break;
        }
    }
}
