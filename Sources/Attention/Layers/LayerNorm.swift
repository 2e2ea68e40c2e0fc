/// Layer normalisation over the last axis:
/// `y = (x − μ) / √(σ² + ε) · γ + β`, with `μ`, `σ²` the mean and (biased) variance of the row.
public struct LayerNorm: ParameterContainer, Sendable {
    public var weight: Tensor  // γ, [size]
    public var bias: Tensor?   // β, [size]
    public var epsilon: Float

    public var size: Int { weight.count }

    /// γ = 1, β = 0.
    public init(size: Int, epsilon: Float = 1e-5, bias: Bool = true) {
        self.weight = .ones([size]); self.bias = bias ? .zeros([size]) : nil; self.epsilon = epsilon
    }

    /// Wraps loaded parameters.
    public init(weight: Tensor, bias: Tensor?, epsilon: Float = 1e-5) {
        checkPrecondition(weight.rank == 1, "LayerNorm: weight must be [size], got shape \(weight.shape)")
        if let bias { checkPrecondition(bias.shape == weight.shape, "LayerNorm: bias shape \(bias.shape) differs from weight shape \(weight.shape)") }
        self.weight = weight; self.bias = bias; self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let n = size
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == n, "LayerNorm: input shape \(x.shape) must end in size \(n)")
        return Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { src in
                weight.withUnsafeBufferPointer { g in
                    let beta = bias?.scalars
                    for r in 0..<(x.count / n) {
                        let base = r * n
                        var mean: Float = 0
                        for j in 0..<n { mean += src[base + j] }
                        mean /= Float(n)
                        var variance: Float = 0
                        for j in 0..<n { let d = src[base + j] - mean; variance += d * d }
                        variance /= Float(n)
                        let inv = 1 / (variance + epsilon).squareRoot()
                        for j in 0..<n {
                            out[base + j] = (src[base + j] - mean) * inv * g[j] + (beta?[j] ?? 0)
                        }
                    }
                }
            }
        }
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
        if var b = bias.take() {   // moved out and back, so the body mutates it in place (no copy)
            defer { bias = b }
            try body(Self.join(prefix, "bias"), &b)
        }
    }
}
