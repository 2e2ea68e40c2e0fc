#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which GELU formula a layer uses.
public enum GELUApproximation: String, Sendable, Codable {
    /// `x · Φ(x) = x/2 · (1 + erf(x/√2))`, BERT's.
    case exact
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715x³)))`, GPT-2's.
    case tanh
}

extension Tensor {
    /// GELU elementwise; see ``GELUApproximation``.
    public func gelu(_ approximation: GELUApproximation = .tanh) -> Tensor {
        switch approximation {
        case .exact:
            return map { x in 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
        case .tanh:
            return map { x in 0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x))) }
        }
    }

    /// `max(0, x)` elementwise.
    public func relu() -> Tensor { map { Swift.max(0, $0) } }
}
