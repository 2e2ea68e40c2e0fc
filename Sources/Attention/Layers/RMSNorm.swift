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
        return Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { src in
                weight.withUnsafeBufferPointer { g in
                    for r in 0..<(x.count / n) {
                        let base = r * n
                        var sumOfSquares: Float = 0
                        for j in 0..<n { sumOfSquares += src[base + j] * src[base + j] }
                        let inverse = 1 / (sumOfSquares / Float(n) + epsilon).squareRoot()
                        for j in 0..<n { out[base + j] = src[base + j] * inverse * g[j] }
                    }
                }
            }
        }
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
    }
}
