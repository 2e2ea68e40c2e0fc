import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU for the encoder's feed-forward, fast enough not to matter beside the GEMMs.
///
/// The exact form `x/2 · (1 + erf(x/√2))` through libm's `erff` is a function call per
/// element and took ~13% of a batch's time (after the fused attention kernel). ``fastErf(_:)``
/// is the rational approximation Eigen and XLA use for Float32 erf: `erf(x) ≈ x·P(x²)/Q(x²)`
/// with `x` clamped to ±4 (where erf is ±1 within Float32 rounding), polynomials of degree 6
/// and 4 — only multiplies, adds, one divide and a select, which the compiler vectorises.
/// Its absolute error is below 5·10⁻⁷ on all of ℝ (measured 4.2·10⁻⁷), so GELU's error is below
/// 1.5·10⁻⁶·(1+|x|)
/// — smaller than the Float32 rounding differences between our sums and PyTorch's, and
/// checked against `erff` in the tests.
@inline(__always)
package func fastErf(_ value: Float) -> Float {
    let x = value < -4 ? -4 : (value > 4 ? 4 : value)
    let x2 = x * x
    var p: Float = -2.72614225801306e-10
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 + -2.10102402082508e-06
    p = p * x2 + -5.69250639462346e-05
    p = p * x2 + -7.34990630326855e-04
    p = p * x2 + -2.95459980854025e-03
    p = p * x2 + -1.60960333262415e-02
    var q: Float = -1.45660718464996e-05
    q = q * x2 + -2.13374055278905e-04
    q = q * x2 + -1.68282697438203e-03
    q = q * x2 + -7.37332916720468e-03
    q = q * x2 + -1.42647390514189e-02
    return x * p / q
}

extension Tensor {
    /// GELU in place, split across threads: `.exact` through ``fastErf(_:)``, `.tanh` through
    /// libm's `tanhf`. (`Tensor.gelu(_:)` in the Attention library is the readable reference.)
    package mutating func applyGELU(_ approximation: GELUApproximation) {
        withUnsafeMutableBufferPointer { buffer in
            let pointer = UncheckedSendableBox(buffer.baseAddress!)
            parallelChunks(buffer.count, minimumChunk: 16_384) { range in
                let x = pointer.value
                switch approximation {
                case .exact:
                    for i in range { x[i] = 0.5 * x[i] * (1 + fastErf(x[i] * 0.70710678118654752)) }
                case .tanh:
                    for i in range {
                        let v = x[i]
                        x[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
                    }
                }
            }
        }
    }
}
