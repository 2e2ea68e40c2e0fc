#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The reference implementation: materialise each head's `Lq × Lk` score matrix, mask it,
/// softmax each row, multiply by `V`. Readable first; it is the specification the fused
/// kernel is tested against, and what `attentionWeights` returns.
package enum ReferenceAttention {
    /// Output `[B, Hq, Lq, Dv]` and per-row log-sum-exp `[B, Hq, Lq]` of the masked, scaled
    /// scores (`-inf` for rows that may attend to nothing).
    package static func forward(_ p: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor)
        -> (output: Tensor, logSumExp: Tensor)
    {
        let weights = self.weights(p, queries: queries, keys: keys)
        let (lq, lk, dv) = (p.queryLength, p.keyLength, p.valueDimension)
        var out = [Float](repeating: 0, count: p.batch * p.queryHeads * lq * dv)
        weights.withUnsafeBufferPointer { w in
            values.withUnsafeBufferPointer { v in
                out.withUnsafeMutableBufferPointer { o in
                    parallelFor(p.batch * p.queryHeads) { bh in
                        let b = bh / p.queryHeads, h = bh % p.queryHeads
                        let vBase = (b * p.keyValueHeads + h / p.groupSize) * lk * dv
                        for i in 0..<lq {
                            let wRow = (bh * lq + i) * lk, oRow = (bh * lq + i) * dv
                            for j in 0..<lk where w[wRow + j] != 0 {
                                let wij = w[wRow + j]
                                for c in 0..<dv { o[oRow + c] += wij * v[vBase + j * dv + c] }
                            }
                        }
                    }
                }
            }
        }
        let lse = logSumExp(p, queries: queries, keys: keys)
        return (Tensor(shape: [p.batch, p.queryHeads, lq, dv], scalars: out), lse)
    }

    /// Softmax weights `[B, Hq, Lq, Lk]`.
    package static func weights(_ p: AttentionProblem, queries: Tensor, keys: Tensor) -> Tensor {
        scores(p, queries: queries, keys: keys).softmax()
    }

    /// Masked, scaled scores `[B, Hq, Lq, Lk]`; forbidden pairs are `-inf`.
    package static func scores(_ p: AttentionProblem, queries: Tensor, keys: Tensor) -> Tensor {
        let (lq, lk, d) = (p.queryLength, p.keyLength, p.headDimension)
        var s = [Float](repeating: -.infinity, count: p.batch * p.queryHeads * lq * lk)
        let elementMask: Tensor?
        var isAdditive = false
        switch p.mask {
        case .boolean(let t): elementMask = t
        case .additive(let t): elementMask = t; isAdditive = true
        default: elementMask = nil
        }
        let ms = elementMask.map { AttentionProblem.maskStrides($0, batch: p.batch, heads: p.queryHeads, queries: lq, keys: lk) }
        let maskScalars = elementMask?.scalars ?? []
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                s.withUnsafeMutableBufferPointer { out in
                    parallelFor(p.batch * p.queryHeads) { bh in
                        let b = bh / p.queryHeads, h = bh % p.queryHeads
                        let kBase = (b * p.keyValueHeads + h / p.groupSize) * lk * d
                        let slope = p.alibiSlopes?[h]
                        for i in 0..<lq {
                            let qRow = (bh * lq + i) * d, sRow = (bh * lq + i) * lk
                            for j in p.keyRange(batch: b, query: i) {
                                var dot: Float = 0
                                for c in 0..<d { dot += q[qRow + c] * k[kBase + j * d + c] }
                                var score = dot * p.scale
                                if let slope { score -= slope * Float(abs(i + p.causalOffset - j)) }
                                if let ms {
                                    let m = maskScalars[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]
                                    if isAdditive { score += m } else if m == 0 { score = -.infinity }
                                }
                                out[sRow + j] = score
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [p.batch, p.queryHeads, lq, lk], scalars: s)
    }

    /// `log Σⱼ exp(sᵢⱼ)` per row of the masked scores, `[B, Hq, Lq]`.
    package static func logSumExp(_ p: AttentionProblem, queries: Tensor, keys: Tensor) -> Tensor {
        let s = scores(p, queries: queries, keys: keys)
        let lk = p.keyLength
        let rows = p.batch * p.queryHeads * p.queryLength
        var out = [Float](repeating: -.infinity, count: rows)
        s.withUnsafeBufferPointer { x in
            for r in 0..<rows {
                var m = -Float.infinity
                for j in 0..<lk { m = max(m, x[r * lk + j]) }
                guard m > -.infinity else { continue }
                var sum: Float = 0
                for j in 0..<lk { sum += expf(x[r * lk + j] - m) }
                out[r] = m + logf(sum)
            }
        }
        return Tensor(shape: [p.batch, p.queryHeads, p.queryLength], scalars: out)
    }
}
