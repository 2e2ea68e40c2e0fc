// BF16 inference GEMM (see include/ak_bf16.h for the arithmetic every variant follows):
// rounding and packing, the portable, AVX2+FMA, AVX512-BF16 and AMX tiles, and the driver (the
// arm64 tiles are in gemm_bf16_neon.c).
#include "ak_bf16.h"
#include "ak_cpu.h"
#include "gemm_bf16_internal.h"
#include <string.h>

/// Rows of x rounded into the scratch at a time (the AVX-512 tile's height).
#define BF16_MR 12

static inline uint32_t bits_of(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

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
/// Pairs a panel holds: ⌈k/2⌉ rounded up to a whole AMX tile depth (16 pairs), zero-filled, so
/// an AMX tile load never leaves the panel. The other kernels stop at ⌈k/2⌉.
static inline size_t panel_pairs(size_t k) { return (pairs_of(k) + 15) / 16 * 16; }
/// uint16 from one panel to the next.
static inline size_t panel_stride(size_t k) { return panel_pairs(k) * PANEL_STEP; }

size_t ak_bf16_packed_count(size_t n, size_t k) { return panels_of(n) * panel_stride(k); }

void ak_bf16_pack_weights(const float *w, size_t n, size_t k, size_t ldw, uint16_t *packed) {
    const size_t kp = panel_pairs(k);
    for (size_t t = 0; t < panels_of(n); ++t) {
        uint16_t *panel = packed + t * panel_stride(k);
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

/// Rows of x rounded at a time into the scratch: the AMX block (two 16-row tiles).
#define SCRATCH_ROWS 32

size_t ak_bf16_scratch_count(size_t k) { return SCRATCH_ROWS * 2 * panel_pairs(k); }

/// One row's rounding: `ak_bf16_round`, or on AVX-512 machines `vcvtneps2bf16` (round to nearest
/// even, subnormals read as ±0, NaN quieted: the same function, 16 at a time).
typedef void (*round_fn)(const float *x, uint16_t *out, size_t n);

/// `rows` rows of x rounded to BF16 into the scratch, 2·panel_pairs(k) per row, zero-padded
/// past k, and rows up to `padded_rows` all zero.
static void round_rows(const float *x, size_t ldx, size_t rows, size_t padded_rows, size_t k, uint16_t *scratch,
                       round_fn round) {
    const size_t stride = 2 * panel_pairs(k);
    for (size_t r = 0; r < rows; ++r) {
        round(x + r * ldx, scratch + r * stride, k);
        memset(scratch + r * stride + k, 0, (stride - k) * sizeof(uint16_t));
    }
    if (padded_rows > rows) memset(scratch + rows * stride, 0, (padded_rows - rows) * stride * sizeof(uint16_t));
}

// MARK: portable

/// One output: the pair sequence of ak_bf16.h, with FP32 FMAs of exact products.
static void tile_portable(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                          const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    for (size_t r = 0; r < rows; ++r) {
        const uint32_t *xr = (const uint32_t *)(const void *)(xs + r * xstride);
        for (size_t t = 0; t * PANEL < n; ++t) {
            const uint32_t *panel = (const uint32_t *)(const void *)(panels + t * pstride);
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

AK_AVX512BF16 static void round_avx512(const float *x, uint16_t *out, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(out + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    for (; i < n; ++i) out[i] = ak_bf16_from_float(x[i]);
}

// AVX2: the weights of 8 columns × one pair are one 256-bit load; the even weights are the low
// halves shifted up, the odd ones the high halves masked. R rows × J panels × 2 halves of
// accumulators (R·J ≤ 4, so ≤ 8 registers), each summing its outputs in the pair order.
AK_AVX2_INLINE void tile_avx2(const int R, const int J, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
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
                const __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(panels + (size_t)t * pstride + q * PANEL_STEP + 16 * h));
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

AK_AVX2 static void rows_avx2(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                              const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    AK_BF16_SMALL_TILE_LOOP(tile_avx2)
}

// AVX512-BF16: one `vdpbf16ps` adds, in each of 16 lanes, x̂ odd·Ŵ odd then x̂ even·Ŵ even, the
// pair step of ak_bf16.h. A row's pair is broadcast as one 32-bit word. R rows × J panels of
// accumulators: 12 × 2 (24 zmm) for tall blocks, up to 4 × 4 for the few rows of decoding.
AK_AVX512BF16_INLINE void tile_avx512(const int R, const int J, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
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
        for (int t = 0; t < J; ++t) w[t] = _mm512_loadu_si512(panels + (size_t)t * pstride + q * PANEL_STEP);
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

AK_AVX512BF16 static void rows_avx512(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                                      const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    for (size_t i = 0; i < rows;) {
        const size_t R = rows - i >= BF16_MR ? BF16_MR : rows - i;
        const size_t jmax = R <= 4 ? 4 : 2;
        for (size_t t = 0; t * PANEL < n;) {
            size_t J = panels_of(n) - t;
            if (J > jmax) J = jmax;
            const uint16_t *x0 = xs + i * xstride;
            const uint16_t *p0 = panels + t * pstride;
            float *c0 = c + i * ldc + t * PANEL;
            const float *b0 = bias ? bias + t * PANEL : NULL;
            const size_t nn = n - t * PANEL;
#define TALL(RR) if (R == RR && J == 1) tile_avx512(RR, 1, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); \
                 else if (R == RR) tile_avx512(RR, 2, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); else
#define SHORT(RR, JJ) if (R == RR && J == JJ) tile_avx512(RR, JJ, kp, pstride, x0, xstride, p0, nn, b0, c0, ldc, accumulate); else
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

// AMX (Sapphire Rapids and later): `tdpbf16ps` multiplies a 16×32 BF16 tile of x̂ by a 16-pair ×
// 16-column tile of Ŵ into a 16×16 FP32 tile, 8192 products per instruction. A panel pair-block
// of 16 pairs is exactly one B tile (64 bytes per pair), and 16 rows of the scratch at a
// 32-value offset are one A tile, so nothing is repacked. Blocks of 32 rows × 32 columns keep
// four C tiles (tmm0–3) with two A (tmm4–5) and two B tiles (tmm6–7). Linux grants the tile
// data state only on request (arch_prctl ARCH_REQ_XCOMP_PERM), once per process.
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define AK_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq")))

static int amx_detect(void) {
    if (!ak_cpu_has_avx512_bf16() || __get_cpuid_max(0, 0) < 7) return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    const int amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
    if (!amx_bf16 || !amx_tile) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;  // XTILECFG and XTILEDATA enabled by the OS
#if defined(__linux__)
    // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18.
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}

int ak_cpu_has_amx_bf16(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (v >= 0) return v;
    v = amx_detect();
    __atomic_store_n(&cached, v, __ATOMIC_RELEASE);
    return v;
}

/// The 64-byte tile configuration (palette 1): tmm0–3 C (16 rows × 64 bytes of FP32), tmm4–5 A
/// (16 rows × 32 BF16), tmm6–7 B (16 pairs × 16 columns × 2 BF16).
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} amx_config;

/// C block (rows × valid columns, zero elsewhere) into a 16×16 FP32 buffer, for accumulating.
static void c_block_in(float buf[16][16], const float *c, size_t ldc, size_t rows, size_t valid) {
    memset(buf, 0, 16 * 16 * sizeof(float));
    for (size_t r = 0; r < rows; ++r) memcpy(buf[r], c + r * ldc, valid * sizeof(float));
}

/// A finished C tile (in `buf`) plus bias into C's rows × valid columns.
AK_AVX512BF16 static void c_block_out(float buf[16][16], float *c, size_t ldc, size_t rows, size_t valid, const float *bias) {
    const __mmask16 live = (__mmask16)(valid >= 16 ? 0xffffu : (1u << valid) - 1u);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(live, bias) : _mm512_setzero_ps();
    for (size_t r = 0; r < rows; ++r)
        _mm512_mask_storeu_ps(c + r * ldc, live, bias ? _mm512_add_ps(_mm512_loadu_ps(buf[r]), b) : _mm512_loadu_ps(buf[r]));
}

AK_AMX static void rows_amx(size_t rows, size_t n, size_t kpp, size_t pstride, const uint16_t *xs, size_t xstride,
                            const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    amx_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; ++t) { config.bytes_per_row[t] = 64; config.rows[t] = 16; }
    _tile_loadconfig(&config);
    float buf[4][16][16];
    const size_t rows0 = rows < 16 ? rows : 16, rows1 = rows > 16 ? rows - 16 : 0;
    const size_t xbytes = xstride * sizeof(uint16_t);
    for (size_t t = 0; t * PANEL < n; t += 2) {
        const int two = (t + 1) * PANEL < n;
        const size_t valid0 = live_columns(t * PANEL, n), valid1 = two ? live_columns((t + 1) * PANEL, n) : 0;
        float *c0 = c + t * PANEL, *c1 = c0 + PANEL;
        const float *b0 = bias ? bias + t * PANEL : NULL, *b1 = bias ? b0 + PANEL : NULL;
        if (accumulate) {
            c_block_in(buf[0], c0, ldc, rows0, valid0);
            c_block_in(buf[1], c1, ldc, rows0, valid1);
            c_block_in(buf[2], c0 + 16 * ldc, ldc, rows1, valid0);
            c_block_in(buf[3], c1 + 16 * ldc, ldc, rows1, valid1);
            _tile_loadd(0, buf[0], 64); _tile_loadd(1, buf[1], 64);
            _tile_loadd(2, buf[2], 64); _tile_loadd(3, buf[3], 64);
        } else {
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        }
        const uint16_t *p0 = panels + t * pstride, *p1 = p0 + pstride;
        for (size_t q = 0; q < kpp; q += 16) {
            _tile_loadd(4, xs + 2 * q, xbytes);
            _tile_loadd(6, p0 + q * PANEL_STEP, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (rows1) {
                _tile_loadd(5, xs + 16 * xstride + 2 * q, xbytes);
                _tile_dpbf16ps(2, 5, 6);
            }
            if (two) {
                _tile_loadd(7, p1 + q * PANEL_STEP, 64);
                _tile_dpbf16ps(1, 4, 7);
                if (rows1) _tile_dpbf16ps(3, 5, 7);
            }
        }
        _tile_stored(0, buf[0], 64); _tile_stored(1, buf[1], 64);
        _tile_stored(2, buf[2], 64); _tile_stored(3, buf[3], 64);
        c_block_out(buf[0], c0, ldc, rows0, valid0, b0);
        c_block_out(buf[1], c1, ldc, rows0, valid1, b1);
        c_block_out(buf[2], c0 + 16 * ldc, ldc, rows1, valid0, b0);
        c_block_out(buf[3], c1 + 16 * ldc, ldc, rows1, valid1, b1);
    }
    _tile_release();
}
#else
int ak_cpu_has_avx512_bf16(void) { return 0; }
int ak_cpu_has_amx_bf16(void) { return 0; }
#endif

int ak_bf16_clamp(int variant) {
#if defined(__x86_64__)
    if (variant >= AK_BF16_AMX && ak_cpu_has_amx_bf16()) return AK_BF16_AMX;
    if (variant >= AK_BF16_AVX512 && ak_cpu_has_avx512_bf16()) return AK_BF16_AVX512;
    if (variant >= AK_BF16_AVX2 && ak_simd_available(AK_SIMD_AVX2)) return AK_BF16_AVX2;
#elif defined(__aarch64__)
    if (variant >= AK_BF16_NEON_BF16 && AK_BF16_NEON_BF16_BUILT && ak_cpu_has_arm_bf16()) return AK_BF16_NEON_BF16;
    if (variant >= AK_BF16_NEON && ak_simd_available(AK_SIMD_NEON)) return AK_BF16_NEON;
#else
    (void)variant;
#endif
    return AK_BF16_PORTABLE;
}

int ak_bf16_variant_for_level(int level) {
    const int clamped = ak_simd_clamp(level);
    if (clamped >= AK_SIMD_AVX512) return ak_bf16_clamp(AK_BF16_AMX);
    if (clamped >= AK_SIMD_AVX2) return ak_bf16_clamp(AK_BF16_AVX2);
    if (clamped == AK_SIMD_NEON) return ak_bf16_clamp(AK_BF16_NEON_BF16);
    return AK_BF16_PORTABLE;
}

const char *ak_bf16_variant_name(int variant) {
    switch (variant) {
    case AK_BF16_NEON: return "neon";
    case AK_BF16_AVX2: return "avx2+fma";
    case AK_BF16_AVX512: return "avx512-bf16";
    case AK_BF16_AMX: return "amx-bf16";
    case AK_BF16_NEON_BF16: return "neon-bf16";
    default: return "portable";
    }
}

/// Rows of C one call of a variant's row kernel covers (AMX: two tiles; others: their tile).
static size_t block_rows(int variant) { return variant == AK_BF16_AMX ? SCRATCH_ROWS : BF16_MR; }

void ak_bf16_gemm(size_t m, size_t n, size_t k, const float *x, size_t ldx,
                  const uint16_t *packed, size_t j0, const float *bias,
                  float *c, size_t ldc, int accumulate, uint16_t *scratch, int variant) {
    if (m == 0 || n == 0) return;
    const size_t kp = pairs_of(k), kpp = panel_pairs(k), xstride = 2 * kpp, pstride = panel_stride(k);
    const uint16_t *panels = packed + (j0 / PANEL) * pstride;
    const float *b = bias ? bias + j0 : NULL;
    variant = ak_bf16_clamp(variant);
    const size_t step = block_rows(variant);
#if defined(__x86_64__)
    const round_fn rounding = variant >= AK_BF16_AVX512 ? round_avx512 : ak_bf16_round;
#else
    const round_fn rounding = ak_bf16_round;
#endif
    for (size_t i = 0; i < m; i += step) {
        const size_t rows = m - i < step ? m - i : step;
        round_rows(x + i * ldx, ldx, rows, variant == AK_BF16_AMX ? SCRATCH_ROWS : rows, k, scratch, rounding);
        float *ci = c + i * ldc;
        switch (variant) {
#if defined(__x86_64__)
        case AK_BF16_AMX: rows_amx(rows, n, kpp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
        case AK_BF16_AVX512: rows_avx512(rows, n, kp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
        case AK_BF16_AVX2: rows_avx2(rows, n, kp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
#endif
#if defined(__aarch64__)
#if AK_BF16_NEON_BF16_BUILT
        case AK_BF16_NEON_BF16: ak_bf16_rows_neon_bf16(rows, n, kp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
#endif
        case AK_BF16_NEON: ak_bf16_rows_neon(rows, n, kp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
#endif
        default: tile_portable(rows, n, kp, pstride, scratch, xstride, panels, b, ci, ldc, accumulate); break;
        }
    }
}
