import Attention
import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU and its derivative, for both formulas of `GELUApproximation`.
enum GELUMath {
    static let sqrtTwoOverPi: Float = 0.79788456080286536  // √(2/π)
    static let inverseSqrtTwo: Float = 0.70710678118654752
    static let inverseSqrtTwoPi: Float = 0.39894228040143268  // 1/√(2π)

    /// GELU (CKernels' `ak_math.h`, the functions inference uses too).
    @inline(__always)
    static func value(_ x: Float, _ approximation: GELUApproximation) -> Float {
        switch approximation {
        case .exact: return ak_gelu_exact(x)
        case .tanh: return ak_gelu_tanh(x)
        }
    }

    /// d GELU / dx: `Φ(x) + x·φ(x)` (exact) or `½(1 + tanh u) + ½x·sech²u·u′` (tanh form).
    @inline(__always)
    static func derivative(_ x: Float, _ approximation: GELUApproximation) -> Float {
        switch approximation {
        case .exact: return ak_gelu_exact_derivative(x)
        case .tanh: return ak_gelu_tanh_derivative(x)
        }
    }
}

extension Variable {
    /// GELU elementwise; see `GELUApproximation` (`.tanh` is GPT-2's, `.exact` BERT's).
    public func gelu(_ approximation: GELUApproximation = .tanh) -> Variable {
        let x = value
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in
                parallelChunks(out.count, minimumChunk: 4096) { range in
                    if approximation == .tanh {
                        // No bias: the kernel only reads x.
                        ak_train_bias_gelu_tanh(UnsafeMutablePointer(mutating: xp.baseAddress! + range.lowerBound), nil,
                                                out.baseAddress! + range.lowerBound, 1, range.count)
                    } else {
                        for i in range { out[i] = GELUMath.value(xp[i], approximation) }
                    }
                }
            }
        }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = gelu(x)  →  dx += g · gelu′(x)
            tape.withGradient(of: self) { acc, accumulate in
                x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in
                    parallelChunks(acc.count, minimumChunk: 4096) { range in
                        if approximation == .tanh {
                            let i = range.lowerBound
                            ak_train_gelu_tanh_backward(xp.baseAddress! + i, gp.baseAddress! + i, acc.baseAddress! + i,
                                                        range.count, accumulate ? 1 : 0)
                        } else {
                            for i in range {
                                let d = gp[i] * GELUMath.derivative(xp[i], approximation)
                                acc[i] = accumulate ? acc[i] + d : d
                            }
                        }
                    }
                } }
            }
        }
    }

    /// `max(0, x)` elementwise (the gradient at 0 is taken as 0).
    public func relu() -> Variable {
        let x = value
        let y = x.mapFast { Swift.max(0, $0) }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = max(0, x)  →  dx += g · [x > 0]
            tape.withGradient(of: self) { acc, accumulate in
                x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in
                    for i in 0..<acc.count {
                        let d = xp[i] > 0 ? gp[i] : 0
                        acc[i] = accumulate ? acc[i] + d : d
                    }
                } }
            }
        }
    }
}
