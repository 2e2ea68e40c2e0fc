// The elementary functions of the models, written once: the C training kernels include them,
// and Swift (inference layers, the tape's rules, the encoder) calls them from this header
// (static inline, so they inline into Swift loops as into C ones). Inference and training
// therefore compute the same GELU, bit for bit, on every path. The SIMD kernels (attention
// forward and backward) evaluate ak_exp lane by lane with the same constants and the same steps
// in ak_simd_math.h.
#ifndef AK_MATH_H
#define AK_MATH_H

#include <math.h>
#include <stdint.h>

#define AK_MATH_INLINE static inline __attribute__((always_inline))

/// √(2/π), the tanh-GELU's scale, and its cubic coefficient.
#define AK_SQRT_2_OVER_PI 0.79788456080286536f
#define AK_GELU_C 0.044715f

/// The constants of ak_exp, shared with its SIMD twins (ak_simd_math.h).
/// Inputs are clamped to [AK_EXP_MIN, AK_EXP_MAX]: at −88, n = −127 and 2ⁿ's exponent field is 0,
/// so the result is exactly 0 (exp(x) < 2^−126.5 is subnormal wherever n rounds to −127).
#define AK_EXP_MIN (-88.0f)
#define AK_EXP_MAX 88.0f
#define AK_EXP_LOG2E 1.44269504088896341f
/// 1.5·2²³ + 127: adding it to x·log₂e rounds to the nearest integer n (to nearest, ties to even)
/// and leaves n + 127 in the low mantissa bits, which shifted left by 23 is the float 2ⁿ.
#define AK_EXP_SHIFTER 12583039.0f
/// ln 2 = AK_EXP_LN2_HI + AK_EXP_LN2_LO (Cody–Waite); HI has 9 significant bits, so n·HI is exact.
#define AK_EXP_LN2_HI 0.693359375f
#define AK_EXP_LN2_LO (-2.12194440e-4f)
/// Cephes expf: exp(r) ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2, P of degree 5.
#define AK_EXP_P0 1.9875691500e-4f
#define AK_EXP_P1 1.3981999507e-3f
#define AK_EXP_P2 8.3334519073e-3f
#define AK_EXP_P3 4.1665795894e-2f
#define AK_EXP_P4 1.6666665459e-1f
#define AK_EXP_P5 5.0000001201e-1f

/// exp(x), the one exp of the package: the attention forward's softmax, the backward's recomputed
/// probabilities, the training rows (softmax, cross-entropy) and the Swift softmax all compute
/// it (SIMD kernels through ak_simd_math.h, lane for lane the same steps). x = n·ln2 + r with
/// n = round(x·log₂e) and |r| ≤ ln2/2 (Cody–Waite), exp(r) by Cephes' polynomial, 2ⁿ built in the
/// exponent bits. Wherever the result is a normal float (x ∈ [−87.33, 88]) it is within 1.02 ulp
/// of the Float64 exp, relative error ≤ 8.5·10⁻⁸ (measured on every float there, with FMA
/// contraction as in the SIMD kernels; 0.99 ulp without); below about −87.68 (−∞ included) the
/// result is exactly 0 (exp(x) is subnormal there); x > 88 gives exp(88); NaN stays NaN.
/// Straight-line arithmetic, so loops over it vectorise.
AK_MATH_INLINE float ak_exp(float x) {
    x = x < AK_EXP_MIN ? AK_EXP_MIN : x;
    x = x > AK_EXP_MAX ? AK_EXP_MAX : x;
    const float shifted = x * AK_EXP_LOG2E + AK_EXP_SHIFTER;
    const float n = shifted - AK_EXP_SHIFTER;
    float r = x - n * AK_EXP_LN2_HI;
    r = r - n * AK_EXP_LN2_LO;
    float p = AK_EXP_P0;
    p = p * r + AK_EXP_P1;
    p = p * r + AK_EXP_P2;
    p = p * r + AK_EXP_P3;
    p = p * r + AK_EXP_P4;
    p = p * r + AK_EXP_P5;
    const float y = (p * (r * r) + r) + 1.0f;
    union { float f; uint32_t u; } two_n = { shifted };
    two_n.u <<= 23;
    return y * two_n.f;
}

/// tanh(x), Eigen's [13/6] rational approximation on [−7.905, 7.905] (beyond which tanhf rounds
/// to ±1): straight-line arithmetic that vectorises, |error| ≤ 4e-7 against the Float64 tanh
/// (measured on 2·10⁶ points), i.e. a few ulps of 1; |x| < 4e-4 returns x.
AK_MATH_INLINE float ak_tanh(float value) {
    const float clamp = 7.90531110763549805f;
    float x = value < -clamp ? -clamp : (value > clamp ? clamp : value);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float t = x * p / q;
    return (value < 4e-4f && value > -4e-4f) ? value : t;
}

/// erf(x), the rational approximation Eigen and XLA use for Float32: x·P(x²)/Q(x²) with x clamped
/// to ±4 (where erf is ±1 within Float32 rounding); |error| < 5·10⁻⁷ on all of ℝ.
AK_MATH_INLINE float ak_erf(float value) {
    float x = value < -4.0f ? -4.0f : (value > 4.0f ? 4.0f : value);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

/// tanh(√(2/π)(x + 0.044715x³)), the one tanh of GPT-2's GELU and of its derivative.
AK_MATH_INLINE float ak_gelu_tanh_inner(float x) {
    return ak_tanh(AK_SQRT_2_OVER_PI * (x + AK_GELU_C * x * x * x));
}

/// ½x(1 + t) with t = ak_gelu_tanh_inner(x).
AK_MATH_INLINE float ak_gelu_tanh_from(float x, float t) { return 0.5f * x * (1.0f + t); }

/// ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²) with t = ak_gelu_tanh_inner(x).
AK_MATH_INLINE float ak_gelu_tanh_slope_from(float x, float t) {
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * AK_SQRT_2_OVER_PI * (1.0f + 3.0f * AK_GELU_C * x * x);
}

/// GPT-2's GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
AK_MATH_INLINE float ak_gelu_tanh(float x) { return ak_gelu_tanh_from(x, ak_gelu_tanh_inner(x)); }

/// d/dx of ak_gelu_tanh: with u = √(2/π)(x + 0.044715x³), t = tanh u:
/// ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
AK_MATH_INLINE float ak_gelu_tanh_derivative(float x) { return ak_gelu_tanh_slope_from(x, ak_gelu_tanh_inner(x)); }

/// ak_gelu_tanh(x) and ak_gelu_tanh_derivative(x) from one tanh (the training forward keeps the
/// slope for the backward): the same helpers, so the same values.
AK_MATH_INLINE void ak_gelu_tanh_and_slope(float x, float *value, float *slope) {
    const float t = ak_gelu_tanh_inner(x);
    *value = ak_gelu_tanh_from(x, t);
    *slope = ak_gelu_tanh_slope_from(x, t);
}

/// BERT's GELU: x·Φ(x) = ½x(1 + erf(x/√2)).
AK_MATH_INLINE float ak_gelu_exact(float x) {
    return 0.5f * x * (1.0f + ak_erf(x * 0.70710678118654752f));
}

/// d/dx of ak_gelu_exact: Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π).
AK_MATH_INLINE float ak_gelu_exact_derivative(float x) {
    return 0.5f * (1.0f + ak_erf(x * 0.70710678118654752f)) + x * 0.39894228040143268f * ak_exp(-0.5f * x * x);
}

#endif
