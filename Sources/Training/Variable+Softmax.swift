import Attention
import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Variable {
    /// Softmax over the last axis (rows of `−∞` become zeros, as in `Tensor.softmax`).
    ///
    /// Computed by `ak_train_softmax_rows` (vectorised, with the same `ak_exp` as `Tensor.softmax`
    /// and the attention kernels), so it may differ from `Tensor.softmax` only in summation order
    /// and FMA contraction: the last bit or two.
    public func softmax() -> Variable {
        let x = value
        let n = shape.last ?? 1
        let rows = n == 0 ? 0 : x.count / n
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in
                rowRanges(rows: rows, width: n) { range in
                    ak_train_softmax_rows(xp.baseAddress! + range.lowerBound * n, out.baseAddress! + range.lowerBound * n, range.count, n)
                }
            }
        }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: yᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)
            // backward: dxᵢ += yᵢ · (gᵢ − Σⱼ gⱼ yⱼ)   (a zero row stays zero)
            tape.withGradient(of: self) { acc, accumulate in
                y.withUnsafeBufferPointer { yp in g.withUnsafeBufferPointer { gp in
                    rowRanges(rows: rows, width: n) { range in
                        let offset = range.lowerBound * n
                        ak_train_softmax_backward(yp.baseAddress! + offset, gp.baseAddress! + offset, acc.baseAddress! + offset,
                                                  range.count, n, accumulate ? 1 : 0)
                    }
                } }
            }
        }
    }

    /// Log-softmax over the last axis: `xᵢ − log Σⱼ exp(xⱼ)`, computed stably.
    public func logSoftmax() -> Variable {
        let y = value.logSoftmax()
        let n = shape.last ?? 1
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: yᵢ = xᵢ − lse(x)
            // backward: dxᵢ += gᵢ − exp(yᵢ) · Σⱼ gⱼ
            tape.withGradient(of: self) { acc, accumulate in
                y.withUnsafeBufferPointer { yp in g.withUnsafeBufferPointer { gp in
                    rowParallel(rows: acc.count / Swift.max(n, 1)) { row in
                        let base = row * n
                        var total: Float = 0
                        for j in 0..<n { total += gp[base + j] }
                        for j in 0..<n {
                            let d = gp[base + j] - ak_exp(yp[base + j]) * total
                            acc[base + j] = accumulate ? acc[base + j] + d : d
                        }
                    }
                } }
            }
        }
    }

    /// Mean cross-entropy of `logits` (`[..., V]`, flattened to `N` rows) against integer
    /// `targets` (`N` class ids): `L = (1/N′) Σᵣ [lse(xᵣ) − xᵣ,tᵣ]` over the `N′` rows whose
    /// target is not `ignoreIndex`. Fused and stable: the log-softmax is never materialised,
    /// and the backward is `dxᵣ = (softmax(xᵣ) − onehot(tᵣ)) · g / N′`, recomputed from the
    /// saved per-row log-sum-exp. With no counted row the loss is 0 (not NaN).
    ///
    /// - Precondition: `targets.count == N`; every counted target is in `0..<V`.
    public func crossEntropy(targets: [Int], ignoreIndex: Int? = nil) -> Variable {
        let logits = value
        let v = shape.last ?? 0
        let rows = v == 0 ? 0 : logits.count / v
        checkPrecondition(targets.count == rows,
            "crossEntropy: \(targets.count) targets for logits of shape \(logits.shape) (\(rows) rows)")
        for (r, t) in targets.enumerated() where t != ignoreIndex {
            checkPrecondition(t >= 0 && t < v, "crossEntropy: target \(t) at row \(r) is outside 0..<\(v)")
        }
        var lse = [Float](repeating: 0, count: rows)
        var rowLoss = [Float](repeating: 0, count: rows)
        let ids = targets.map { Int64($0) }
        let ignored = Int64(ignoreIndex ?? Int(Int64.min))
        logits.withUnsafeBufferPointer { x in ids.withUnsafeBufferPointer { t in
            lse.withUnsafeMutableBufferPointer { lInout in rowLoss.withUnsafeMutableBufferPointer { rlInout in
                let (l, rl) = (lInout, rlInout)
                rowRanges(rows: rows, width: v) { range in
                    let r0 = range.lowerBound
                    ak_train_cross_entropy_forward(x.baseAddress! + r0 * v, t.baseAddress! + r0, range.count, v, ignored,
                                                   l.baseAddress! + r0, rl.baseAddress! + r0)
                }
            } }
        } }
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let total = rowLoss.reduce(0.0) { $0 + Double($1) }  // fixed order: deterministic
        let loss = Tensor(counted == 0 ? 0 : Float(total / Double(counted)))
        return tape.record(loss, inputs: [self]) { [self = detached] g, tape in
            // forward: L = (1/N′) Σᵣ lse(xᵣ) − xᵣ[tᵣ]
            let factor = counted == 0 ? 0 : g.scalars[0] / Float(counted)
            tape.withGradient(of: self) { acc, accumulate in
                logits.withUnsafeBufferPointer { x in ids.withUnsafeBufferPointer { t in lse.withUnsafeBufferPointer { l in
                    rowRanges(rows: rows, width: v) { range in
                        let r0 = range.lowerBound
                        ak_train_cross_entropy_backward(x.baseAddress! + r0 * v, t.baseAddress! + r0, l.baseAddress! + r0,
                                                        range.count, v, ignored, factor, acc.baseAddress! + r0 * v, accumulate ? 1 : 0)
                    }
                } } }
            }
        }
    }
}

