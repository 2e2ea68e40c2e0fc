import Attention
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Variable {
    /// Softmax over the last axis (rows of `−∞` become zeros, as in `Tensor.softmax`).
    public func softmax() -> Variable {
        let y = value.softmax()
        let n = shape.last ?? 1
        return tape.record(y, inputs: [self]) { g, tape in
            // forward: yᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m)
            // backward: dxᵢ += yᵢ · (gᵢ − Σⱼ gⱼ yⱼ)   (a zero row stays zero)
            tape.withGradient(of: self) { acc, accumulate in
                y.withUnsafeBufferPointer { yp in g.withUnsafeBufferPointer { gp in
                    rowParallel(rows: acc.count / Swift.max(n, 1)) { row in
                        let base = row * n
                        var dot: Float = 0
                        for j in 0..<n { dot += gp[base + j] * yp[base + j] }
                        for j in 0..<n {
                            let d = yp[base + j] * (gp[base + j] - dot)
                            acc[base + j] = accumulate ? acc[base + j] + d : d
                        }
                    }
                } }
            }
        }
    }

    /// Log-softmax over the last axis: `xᵢ − log Σⱼ exp(xⱼ)`, computed stably.
    public func logSoftmax() -> Variable {
        let y = value.logSoftmax()
        let n = shape.last ?? 1
        return tape.record(y, inputs: [self]) { g, tape in
            // forward: yᵢ = xᵢ − lse(x)
            // backward: dxᵢ += gᵢ − exp(yᵢ) · Σⱼ gⱼ
            tape.withGradient(of: self) { acc, accumulate in
                y.withUnsafeBufferPointer { yp in g.withUnsafeBufferPointer { gp in
                    rowParallel(rows: acc.count / Swift.max(n, 1)) { row in
                        let base = row * n
                        var total: Float = 0
                        for j in 0..<n { total += gp[base + j] }
                        for j in 0..<n {
                            let d = gp[base + j] - expf(yp[base + j]) * total
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
        precondition(targets.count == rows,
            "crossEntropy: \(targets.count) targets for logits of shape \(logits.shape) (\(rows) rows)")
        for (r, t) in targets.enumerated() where t != ignoreIndex {
            precondition(t >= 0 && t < v, "crossEntropy: target \(t) at row \(r) is outside 0..<\(v)")
        }
        var lse = [Float](repeating: 0, count: rows)
        var rowLoss = [Float](repeating: 0, count: rows)
        logits.withUnsafeBufferPointer { x in
            lse.withUnsafeMutableBufferPointer { l in rowLoss.withUnsafeMutableBufferPointer { rl in
                rowParallel(rows: rows) { r in
                    let base = r * v
                    var m = -Float.infinity
                    for j in 0..<v { m = Swift.max(m, x[base + j]) }
                    var s: Float = 0
                    for j in 0..<v { s += expf(x[base + j] - m) }
                    l[r] = m + logf(s)
                    if targets[r] != ignoreIndex { rl[r] = l[r] - x[base + targets[r]] }
                }
            } }
        }
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let total = rowLoss.reduce(0.0) { $0 + Double($1) }  // fixed order: deterministic
        let loss = Tensor(counted == 0 ? 0 : Float(total / Double(counted)))
        return tape.record(loss, inputs: [self]) { g, tape in
            // forward: L = (1/N′) Σᵣ lse(xᵣ) − xᵣ[tᵣ]
            let factor = counted == 0 ? 0 : g.scalars[0] / Float(counted)
            tape.withGradient(of: self) { acc, accumulate in
                logits.withUnsafeBufferPointer { x in
                    rowParallel(rows: rows) { r in
                        let base = r * v
                        let ignored = targets[r] == ignoreIndex
                        for j in 0..<v {
                            var d = ignored ? 0 : expf(x[base + j] - lse[r]) * factor
                            if j == targets[r] && !ignored { d -= factor }
                            acc[base + j] = accumulate ? acc[base + j] + d : d
                        }
                    }
                }
            }
        }
    }
}

/// Runs `body(row)` for every row, split into contiguous chunks across threads. Each row is
/// written by exactly one thread, so results do not depend on the thread count.
@inline(__always)
func rowParallel(rows: Int, minimumRows: Int = 16, _ body: (Int) -> Void) {
    parallelChunks(rows, minimumChunk: minimumRows) { range in for r in range { body(r) } }
}
