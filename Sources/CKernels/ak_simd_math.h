// Private to CKernels: ak_exp (include/ak_math.h) for whole vectors, one function per SIMD level,
// with the same constants and the same steps as the scalar function (the FMA levels fuse what a
// compiler with FMA contraction fuses in it). The attention forward's online softmax and the
// backward's recomputed probabilities both call these, so the backward's P = exp(S − lse) is the
// function the forward summed into its log-sum-exp.
//
// Each is the scalar code lane by lane: clamp x to [AK_EXP_MIN, AK_EXP_MAX] (NaN passes through:
// max/min take the constant first), n = round(x·log₂e) by the shifter, r = x − n·ln2 in two
// steps, y = (r²·P(r) + r) + 1, times 2ⁿ from the shifter's low bits.
#ifndef AK_SIMD_MATH_H
#define AK_SIMD_MATH_H

#include "include/ak_math.h"
#include "ak_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

/// ak_exp of `count` vectors of 8 lanes (AVX2+FMA) in place, each step done for all of them
/// before the next (count is a constant at every call, so the loops unroll). One exp is a chain of
/// ~17 dependent operations; a core with a small floating-point scheduler (Zen 1's holds about
/// one chain) waits on each link when chains come one after another, and issues from several at
/// once when they are interleaved. Every lane gets the same operations whatever the count.
AK_AVX2_INLINE void ak_exp_n_avx2(__m256 *x, const int count) {
    enum { MAX_COUNT = 4 };
    const __m256 lo = _mm256_set1_ps(AK_EXP_MIN), hi = _mm256_set1_ps(AK_EXP_MAX);
    const __m256 shifter = _mm256_set1_ps(AK_EXP_SHIFTER), log2e = _mm256_set1_ps(AK_EXP_LOG2E);
    __m256 shifted[MAX_COUNT], n[MAX_COUNT], r[MAX_COUNT], p[MAX_COUNT];
    for (int i = 0; i < count; i++) x[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, x[i]));
    for (int i = 0; i < count; i++) shifted[i] = _mm256_fmadd_ps(x[i], log2e, shifter);
    for (int i = 0; i < count; i++) n[i] = _mm256_sub_ps(shifted[i], shifter);
    for (int i = 0; i < count; i++) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(AK_EXP_LN2_HI), x[i]);
    for (int i = 0; i < count; i++) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(AK_EXP_LN2_LO), r[i]);
    for (int i = 0; i < count; i++) p[i] = _mm256_fmadd_ps(_mm256_set1_ps(AK_EXP_P0), r[i], _mm256_set1_ps(AK_EXP_P1));
    for (int i = 0; i < count; i++) p[i] = _mm256_fmadd_ps(p[i], r[i], _mm256_set1_ps(AK_EXP_P2));
    for (int i = 0; i < count; i++) p[i] = _mm256_fmadd_ps(p[i], r[i], _mm256_set1_ps(AK_EXP_P3));
    for (int i = 0; i < count; i++) p[i] = _mm256_fmadd_ps(p[i], r[i], _mm256_set1_ps(AK_EXP_P4));
    for (int i = 0; i < count; i++) p[i] = _mm256_fmadd_ps(p[i], r[i], _mm256_set1_ps(AK_EXP_P5));
    for (int i = 0; i < count; i++)
        p[i] = _mm256_add_ps(_mm256_fmadd_ps(p[i], _mm256_mul_ps(r[i], r[i]), r[i]), _mm256_set1_ps(1.0f));
    for (int i = 0; i < count; i++)
        x[i] = _mm256_mul_ps(p[i], _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(shifted[i]), 23)));
}

/// ak_exp for 8 lanes (AVX2+FMA).
AK_AVX2_INLINE __m256 ak_exp_avx2(__m256 x) {
    ak_exp_n_avx2(&x, 1);
    return x;
}

/// ak_exp_avx2 of four vectors at once, interleaved (see ak_exp_n_avx2): the fused forward's
/// softmax and the backward's recomputed probabilities.
AK_AVX2_INLINE void ak_exp4_avx2(__m256 x[4]) { ak_exp_n_avx2(x, 4); }

/// ak_exp for 16 lanes (AVX-512).
AK_AVX512_INLINE __m512 ak_exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(AK_EXP_MAX), _mm512_max_ps(_mm512_set1_ps(AK_EXP_MIN), x));
    const __m512 shifter = _mm512_set1_ps(AK_EXP_SHIFTER);
    const __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(AK_EXP_LOG2E), shifter);
    const __m512 n = _mm512_sub_ps(shifted, shifter);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(AK_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(AK_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(AK_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(AK_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(AK_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(AK_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(AK_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(AK_EXP_P5));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512 two_n = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(shifted), 23));
    return _mm512_mul_ps(y, two_n);
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

/// ak_exp for 4 lanes (NEON; vmaxq/vminq propagate NaN).
AK_NEON_INLINE float32x4_t ak_exp_neon(float32x4_t x) {
    x = vminq_f32(vdupq_n_f32(AK_EXP_MAX), vmaxq_f32(vdupq_n_f32(AK_EXP_MIN), x));
    const float32x4_t shifter = vdupq_n_f32(AK_EXP_SHIFTER);
    const float32x4_t shifted = vfmaq_f32(shifter, x, vdupq_n_f32(AK_EXP_LOG2E));
    const float32x4_t n = vsubq_f32(shifted, shifter);
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(AK_EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(AK_EXP_LN2_LO));
    float32x4_t p = vdupq_n_f32(AK_EXP_P0);
    p = vfmaq_f32(vdupq_n_f32(AK_EXP_P1), p, r);
    p = vfmaq_f32(vdupq_n_f32(AK_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(AK_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(AK_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(AK_EXP_P5), p, r);
    const float32x4_t y = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    const float32x4_t two_n = vreinterpretq_f32_u32(vshlq_n_u32(vreinterpretq_u32_f32(shifted), 23));
    return vmulq_f32(y, two_n);
}
#endif

#endif
