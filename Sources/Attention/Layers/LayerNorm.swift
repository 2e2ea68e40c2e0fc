import CKernels

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

    /// `y = (x − μ)·rstd·γ + β` row by row over the last axis, `rstd = 1/√(σ² + ε)`. The rows run
    /// through the C row kernel of training (`ak_train_norm_forward` at the process's SIMD
    /// level), split across threads by rows, so inference and the training tape give the same bits.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let n = size
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == n, "LayerNorm: input shape \(x.shape) must end in size \(n)")
        return normalizedRows(x, weight: weight, bias: bias, epsilon: epsilon, centred: true)
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try body(Self.join(prefix, "weight"), &weight)
        if var b = bias.take() {   // moved out and back, so the body mutates it in place (no copy)
            defer { bias = b }
            try body(Self.join(prefix, "bias"), &b)
        }
    }
}

/// LayerNorm (`centred`) or RMSNorm rows of `x` over its last axis, through `ak_train_norm_forward`
/// (see ak_training.h), blocks of rows in parallel. Each row is computed by one thread alone, so
/// the result does not depend on the thread count. The training tape passes `mean` (LayerNorm)
/// and `rstd`, one float per row, to keep the statistics for its backward; inference passes
/// neither and they go to scratch.
package func normalizedRows(
    _ x: Tensor, weight: Tensor, bias: Tensor?, epsilon: Float, centred: Bool,
    mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
) -> Tensor {
    let n = weight.count
    let rows = n == 0 ? 0 : x.count / n
    return Tensor(uninitializedShape: x.shape) { out in
        guard rows > 0 else { return }
        x.withUnsafeBufferPointer { src in weight.withUnsafeBufferPointer { g in
            func run(_ beta: UnsafePointer<Float>?) {
                parallelChunks(rows, minimumChunk: max(1, 8192 / max(n, 1))) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: mean != nil && rstd != nil ? 0 : 2 * range.count) { scratch in
                        let offset = range.lowerBound * n
                        ak_train_norm_forward(
                            src.baseAddress! + offset, g.baseAddress!, beta, out.baseAddress! + offset,
                            mean.map { $0 + range.lowerBound } ?? scratch.baseAddress,
                            rstd.map { $0 + range.lowerBound } ?? scratch.baseAddress! + range.count,
                            range.count, n, epsilon, centred ? 1 : 0)
                    }
                }
            }
            if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
        } }
    }
}
