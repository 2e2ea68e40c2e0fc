// BF16 inference GEMM on arm64 (see include/ak_bf16.h for the arithmetic and the packed layout):
// the NEON kernel on widened BF16, bit-identical to the portable one, on every arm64; and the
// FEAT_BF16 kernel (BFDOT), compiled with a per-function target attribute (ak_target.h) and run
// only where the CPU has the instructions (ak_cpu_has_arm_bf16). On other architectures this
// file holds only the detection, which answers 0.
//
// One 128-bit load of a panel pair step is 4 columns' (Ŵ[j,2q], Ŵ[j,2q+1]) as four 32-bit words,
// even element in the low half: the weights of 4 outputs for one pair. A row of x̂ gives 4 pairs
// per load (8 BF16). Tiles of R rows × J panels keep R·J·4 accumulators (R·J ≤ 4: at most 16 of
// the 32 q registers), each summing its 4 outputs in the order of ak_bf16.h.
#include "ak_bf16.h"
#include "gemm_bf16_internal.h"

#if defined(__aarch64__)
#include "ak_target.h"
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1UL << 14)
#endif
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static int arm_bf16_detect(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.arm.FEAT_BF16", &value, &size, NULL, 0) == 0 && value != 0;
#else
    return 0;
#endif
}

int ak_cpu_has_arm_bf16(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    v = arm_bf16_detect();
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

/// C (when accumulating) into the accumulators of one row of one panel, `valid` columns of it.
AK_NEON_INLINE void load_c(float32x4_t acc[4], const float *c, size_t valid, int accumulate) {
    float spill[PANEL] = {0};
    if (accumulate) memcpy(spill, c, valid * sizeof(float));
    for (int h = 0; h < 4; ++h) acc[h] = vld1q_f32(spill + 4 * h);
}

/// acc (+ bias) into one row of one panel: `finish_store`, vectorised for whole panels.
AK_NEON_INLINE void store_c(const float32x4_t acc[4], float *c, const float *bias, size_t valid) {
    if (valid == PANEL) {
        for (int h = 0; h < 4; ++h)
            vst1q_f32(c + 4 * h, bias ? vaddq_f32(acc[h], vld1q_f32(bias + 4 * h)) : acc[h]);
        return;
    }
    float spill[PANEL];
    for (int h = 0; h < 4; ++h) vst1q_f32(spill + 4 * h, acc[h]);
    finish_store(spill, c, bias, valid);
}

// MARK: NEON (FP32 FMAs on widened BF16)

/// Widened BF16 weights of 4 columns for one pair: the even ones (low halves shifted up) and the
/// odd ones (high halves, low bits cleared).
#define WIDEN_PAIR(w, we, wo)                                                 \
    const float32x4_t we = vreinterpretq_f32_u32(vshlq_n_u32(w, 16));         \
    const float32x4_t wo = vreinterpretq_f32_u32(vandq_u32(w, vdupq_n_u32(0xffff0000u)))

/// Pair s of a 4-pair block: for every panel quarter, acc ← acc + x̂ odd·Ŵ odd, then
/// acc ← acc + x̂ even·Ŵ even (each one FMA), with x̂ in lanes (EVEN, ODD) of x[r][HALF].
#define NEON_PAIR(S, HALF, EVEN, ODD)                                                           \
    AK_UNROLL                                                                                   \
    for (int t = 0; t < J; ++t)                                                                 \
        AK_UNROLL                                                                               \
        for (int h = 0; h < 4; ++h) {                                                           \
            const uint32x4_t w = vld1q_u32(words[t] + (q + (S)) * PANEL + 4 * h);               \
            WIDEN_PAIR(w, we, wo);                                                              \
            AK_UNROLL                                                                           \
            for (int r = 0; r < R; ++r) {                                                       \
                acc[r][t][h] = vfmaq_laneq_f32(acc[r][t][h], wo, x[r][HALF], ODD);              \
                acc[r][t][h] = vfmaq_laneq_f32(acc[r][t][h], we, x[r][HALF], EVEN);             \
            }                                                                                   \
        }

AK_NEON_INLINE void tile_neon(const int R, const int J, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                              const uint16_t *panels, size_t n, const float *bias, float *c, size_t ldc, int accumulate) {
    float32x4_t acc[4][4][4];
    const uint32_t *words[4];
    AK_UNROLL
    for (int t = 0; t < J; ++t) {
        words[t] = (const uint32_t *)(const void *)(panels + (size_t)t * pstride);
        AK_UNROLL
        for (int r = 0; r < R; ++r)
            load_c(acc[r][t], c + (size_t)r * ldc + t * PANEL, live_columns((size_t)t * PANEL, n), accumulate);
    }
    size_t q = 0;
    for (; q + 4 <= kp; q += 4) {
        // x[r][0] = (x̂ 2q, 2q+1, 2q+2, 2q+3), x[r][1] = the next four, widened exactly.
        float32x4_t x[4][2];
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            const uint16x8_t v = vld1q_u16(xs + (size_t)r * xstride + 2 * q);
            x[r][0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16));
            x[r][1] = vreinterpretq_f32_u32(vshll_high_n_u16(v, 16));
        }
        NEON_PAIR(0, 0, 0, 1)
        NEON_PAIR(1, 0, 2, 3)
        NEON_PAIR(2, 1, 0, 1)
        NEON_PAIR(3, 1, 2, 3)
    }
    // The last kp mod 4 pairs one at a time (stopping at kp, as the portable kernel does: a
    // padding pair of zeros would turn an accumulator of −0 into +0).
    for (; q < kp; ++q) {
        float xe[4], xo[4];
        AK_UNROLL
        for (int r = 0; r < R; ++r) {
            uint32_t pair;
            memcpy(&pair, xs + (size_t)r * xstride + 2 * q, 4);
            xe[r] = float_of(pair << 16);
            xo[r] = float_of(pair & 0xffff0000u);
        }
        AK_UNROLL
        for (int t = 0; t < J; ++t)
            AK_UNROLL
            for (int h = 0; h < 4; ++h) {
                const uint32x4_t w = vld1q_u32(words[t] + q * PANEL + 4 * h);
                WIDEN_PAIR(w, we, wo);
                AK_UNROLL
                for (int r = 0; r < R; ++r) {
                    acc[r][t][h] = vfmaq_n_f32(acc[r][t][h], wo, xo[r]);
                    acc[r][t][h] = vfmaq_n_f32(acc[r][t][h], we, xe[r]);
                }
            }
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int t = 0; t < J; ++t)
            store_c(acc[r][t], c + (size_t)r * ldc + t * PANEL, bias ? bias + t * PANEL : NULL,
                    live_columns((size_t)t * PANEL, n));
}
#undef NEON_PAIR

void ak_bf16_rows_neon(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                       const uint16_t *panels, const float *bias, float *c, size_t ldc, int accumulate) {
    AK_BF16_SMALL_TILE_LOOP(tile_neon)
}

// MARK: FEAT_BF16 (BFDOT)

#if AK_BF16_NEON_BF16_BUILT
// `vbfdotq_laneq_f32(acc, w, x, s)` adds, in each of 4 lanes (columns), Ŵ even·x̂[2s] +
// Ŵ odd·x̂[2s+1]: one pair of 4 outputs per instruction, x̂'s pair s taken from the row's 4-pair
// vector. The products are exact, but without FEAT_EBF16 (or with FPCR.EBF = 0) BFDOT rounds the
// pair's sum and then the accumulation to odd, flushing subnormals, so the result is not the FMA
// sequence's bits. Each step's two roundings are below 2⁻²³ relative, so the guaranteed bound is
// about twice the FMA sequence's (k+2)·2⁻²⁴·Σ|x̂Ŵ|; the tests hold it to that bound itself.
// Every output still sums the same pairs in the same order whatever the rows, panels or split.
// Pairs past kp up to the next multiple of 4 are zeros in both operands (panels and scratch rows
// are padded to whole 16-pair blocks), so no tail loop: adding 0 to an accumulator changes it
// only from −0 to +0.
#define BFDOT_PAIR(S)                                                                           \
    AK_UNROLL                                                                                   \
    for (int t = 0; t < J; ++t)                                                                 \
        AK_UNROLL                                                                               \
        for (int h = 0; h < 4; ++h) {                                                           \
            const bfloat16x8_t w = vreinterpretq_bf16_u32(vld1q_u32(words[t] + (q + (S)) * PANEL + 4 * h)); \
            AK_UNROLL                                                                           \
            for (int r = 0; r < R; ++r) acc[r][t][h] = vbfdotq_laneq_f32(acc[r][t][h], w, x[r], S); \
        }

AK_NEON_BF16_INLINE void tile_bfdot(const int R, const int J, size_t kp, size_t pstride, const uint16_t *xs, size_t xstride,
                                    const uint16_t *panels, size_t n, const float *bias, float *c, size_t ldc, int accumulate) {
    float32x4_t acc[4][4][4];
    const uint32_t *words[4];
    AK_UNROLL
    for (int t = 0; t < J; ++t) {
        words[t] = (const uint32_t *)(const void *)(panels + (size_t)t * pstride);
        AK_UNROLL
        for (int r = 0; r < R; ++r)
            load_c(acc[r][t], c + (size_t)r * ldc + t * PANEL, live_columns((size_t)t * PANEL, n), accumulate);
    }
    for (size_t q = 0; q < kp; q += 4) {
        bfloat16x8_t x[4];
        AK_UNROLL
        for (int r = 0; r < R; ++r) x[r] = vreinterpretq_bf16_u16(vld1q_u16(xs + (size_t)r * xstride + 2 * q));
        BFDOT_PAIR(0)
        BFDOT_PAIR(1)
        BFDOT_PAIR(2)
        BFDOT_PAIR(3)
    }
    AK_UNROLL
    for (int r = 0; r < R; ++r)
        AK_UNROLL
        for (int t = 0; t < J; ++t)
            store_c(acc[r][t], c + (size_t)r * ldc + t * PANEL, bias ? bias + t * PANEL : NULL,
                    live_columns((size_t)t * PANEL, n));
}
#undef BFDOT_PAIR

AK_NEON_BF16 void ak_bf16_rows_neon_bf16(size_t rows, size_t n, size_t kp, size_t pstride, const uint16_t *xs,
                                         size_t xstride, const uint16_t *panels, const float *bias, float *c,
                                         size_t ldc, int accumulate) {
    AK_BF16_SMALL_TILE_LOOP(tile_bfdot)
}
#endif

#else
int ak_cpu_has_arm_bf16(void) { return 0; }
#endif
