import CKernels
import Attention

/// erf for the encoder's exact GELU: CKernels' `ak_erf` (`ak_math.h`), the rational
/// approximation Eigen and XLA use for Float32, `erf(x) ≈ x·P(x²)/Q(x²)` with `x` clamped to ±4.
/// libm's `erff` is a call per element that took ~13% of a batch's time; this one vectorises,
/// and its absolute error is below 5·10⁻⁷ on all of ℝ (measured 4.2·10⁻⁷, checked in the tests),
/// smaller than the Float32 rounding differences between our sums and PyTorch's.
package func fastErf(_ value: Float) -> Float { ak_erf(value) }

extension Tensor {
    /// GELU in place, split across threads, with the same formulas as `Tensor.gelu(_:)` and
    /// training (CKernels' `ak_gelu_exact` / `ak_gelu_tanh`).
    package mutating func applyGELU(_ approximation: GELUApproximation) {
        withUnsafeMutableBufferPointer { buffer in
            let pointer = UncheckedSendableBox(buffer.baseAddress!)
            let level = SIMDLevel.current.rawValue
            parallelChunks(buffer.count, minimumChunk: 16_384) { range in
                ak_gelu_inplace(pointer.value + range.lowerBound, range.count, approximation == .exact ? 1 : 0, level)
            }
        }
    }
}
