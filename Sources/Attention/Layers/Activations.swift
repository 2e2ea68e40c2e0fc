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
    public func gelu(_ approximation: GELUApproximation = .tanh) -> Tensor {
        switch approximation {
        case .exact: return map { ak_gelu_exact($0) }
        case .tanh: return map { ak_gelu_tanh($0) }
        }
    }

    /// `max(0, x)` elementwise.
    public func relu() -> Tensor { map { Swift.max(0, $0) } }
}
