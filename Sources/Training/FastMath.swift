// Elementary functions for the training hot loops. glibc's `tanhf` is a call per element that
// the compiler cannot vectorise; the GELU forward and backward of a small GPT evaluate it
// millions of times per step, and it was a fifth of the step time. These are straight-line
// arithmetic that vectorises.

/// `tanh(x)` as a [13/6] rational approximation on `[−7.905, 7.905]` (beyond which `tanhf`
/// rounds to ±1), the approximation Eigen uses for `float`. Max absolute error against the
/// Float64 `tanh`: 4.0e-7 over `[−10, 10]` (measured on 2·10⁶ points), i.e. a few ulps of 1;
/// `tanhf` itself is within 6e-8. For `|x| < 4e-4` it returns `x` (the first term).
@inline(__always)
func fastTanh(_ value: Float) -> Float {
    let clamp: Float = 7.90531110763549805
    let x = value < -clamp ? -clamp : (value > clamp ? clamp : value)
    let x2 = x * x
    // Odd numerator α₁x + α₃x³ + … + α₁₃x¹³ and even denominator β₀ + β₂x² + … + β₆x⁶.
    var p: Float = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 + -8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    var q: Float = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    let t = x * p / q
    return (value < 4e-4 && value > -4e-4) ? value : t
}
