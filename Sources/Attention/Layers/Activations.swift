import CKernels

/// Which GELU formula a layer uses.
public enum GELUApproximation: String, Sendable, Codable {
    /// `x · Φ(x) = x/2 · (1 + erf(x/√2))`, BERT's.
    case exact
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715x³)))`, GPT-2's.
    case tanh
}

extension Tensor {
    /// GELU elementwise; see ``GELUApproximation``. The formulas are CKernels' `ak_gelu_exact`
    /// and `ak_gelu_tanh` (`ak_math.h`), the same functions training differentiates, so a model
    /// is evaluated with exactly the activation it was trained with.
    /// Runs through `ak_gelu_inplace` at the process's SIMD level, split across threads.
    public func gelu(_ approximation: GELUApproximation = .tanh) -> Tensor {
        var y = self
        y.applyGELU(approximation)
        return y
    }

    /// GELU in place, split across threads (the vectorised `ak_gelu_inplace` rows: the formulas
    /// of `ak_gelu_exact` / `ak_gelu_tanh` lane by lane).
    package mutating func applyGELU(_ approximation: GELUApproximation) {
        withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let level = SIMDLevel.current.rawValue
            parallelChunks(buffer.count, minimumChunk: 16_384) { range in
                ak_gelu_inplace(base + range.lowerBound, range.count, approximation == .exact ? 1 : 0, level)
            }
        }
    }

    /// `max(0, x)` elementwise.
    public func relu() -> Tensor { map { Swift.max(0, $0) } }
}
