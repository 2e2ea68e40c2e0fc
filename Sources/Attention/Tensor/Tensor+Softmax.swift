import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// Softmax over the last axis, numerically stable:
    /// `softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)` with `m = maxⱼ xⱼ`, where `exp` is the
    /// package's one exp (`ak_exp` in CKernels' `ak_math.h`, the function of the fused kernels
    /// and of training).
    ///
    /// A row whose entries are all `-inf` (nothing to attend to) becomes all zeros, never NaN.
    public func softmax() -> Tensor {
        checkPrecondition(rank >= 1, "softmax: needs rank ≥ 1, got shape \(shape)")
        let n = shape[rank - 1]
        guard n > 0 else { return self }
        return Tensor(uninitializedShape: shape) { out in
            scalars.withUnsafeBufferPointer { x in
                for row in 0..<(count / n) {
                    let base = row * n
                    var m = -Float.infinity
                    for j in 0..<n { m = Swift.max(m, x[base + j]) }
                    if m == -.infinity {
                        for j in 0..<n { out[base + j] = 0 }
                        continue
                    }
                    var s: Float = 0
                    for j in 0..<n {
                        let e = ak_exp(x[base + j] - m)
                        out[base + j] = e
                        s += e
                    }
                    let inv = 1 / s
                    for j in 0..<n { out[base + j] *= inv }
                }
            }
        }
    }

    /// Log-softmax over the last axis: `xᵢ − m − log Σⱼ exp(xⱼ − m)`.
    public func logSoftmax() -> Tensor {
        checkPrecondition(rank >= 1, "logSoftmax: needs rank ≥ 1, got shape \(shape)")
        let n = shape[rank - 1]
        guard n > 0 else { return self }
        return Tensor(uninitializedShape: shape) { out in
            scalars.withUnsafeBufferPointer { x in
                for row in 0..<(count / n) {
                    let base = row * n
                    var m = -Float.infinity
                    for j in 0..<n { m = Swift.max(m, x[base + j]) }
                    var s: Float = 0
                    for j in 0..<n { s += ak_exp(x[base + j] - m) }
                    let lse = m + logf(s)
                    for j in 0..<n { out[base + j] = x[base + j] - lse }
                }
            }
        }
    }
}
