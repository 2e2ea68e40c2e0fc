/// Root-mean-square normalisation over the last axis (Zhang & Sennrich 2019; Llama):
/// `y = x / √(mean(x²) + ε) · γ`. Unlike ``LayerNorm`` it neither centres the row nor adds a
/// bias, which saves a reduction and works as well in practice.
///
/// Checkpoint name: `weight` (γ, `[size]`).
public struct RMSNorm: ParameterContainer, Sendable {
    /// γ, `[size]`.
    public var weight: Tensor
    /// ε inside the square root (guards rows of zeros).
    public var epsilon: Float

    public var size: Int { weight.count }

    /// γ = 1.
    public init(size: Int, epsilon: Float = 1e-5) {
        checkPrecondition(size > 0, "RMSNorm: size must be positive, got \(size)")
        self.weight = .ones([size]); self.epsilon = epsilon
    }

    /// Wraps a loaded γ.
    public init(weight: Tensor, epsilon: Float = 1e-5) {
        checkPrecondition(weight.rank == 1, "RMSNorm: weight must be [size], got shape \(weight.shape)")
        self.weight = weight; self.epsilon = epsilon
    }

    /// `x` `[..., size]` normalised row by row; same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let n = size
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == n, "RMSNorm: input shape \(x.shape) must end in size \(n)")
        return normalizedRows(x, weight: weight, bias: nil, epsilon: epsilon, centred: false)
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
    }
}
