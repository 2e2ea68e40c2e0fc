import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The reference implementation: materialise each head's `Lq × Lk` score matrix, mask it,
/// softmax each row, multiply by `V`. Readable first; it is the specification the fused
/// kernel is tested against, and what `attentionWeights` returns. Memory is O(B·Hq·Lq·Lk).
package enum ReferenceAttention {
    /// Output `[B, Hq, Lq, Dv]` and per-row log-sum-exp `[B, Hq, Lq]` of the masked, scaled
    /// scores (`-inf` for rows that may attend to nothing).
    package static func forward(_ p: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor)
        -> (output: Tensor, logSumExp: Tensor)
    {
        let scores = self.scores(p, queries: queries, keys: keys)
        let weights = scores.softmax()                       // [B, Hq, Lq, Lk]
        let output = perHead(p, weights, values, rows: p.queryLength, columns: p.valueDimension) {
            w, v, out in
            // O = P·V: [Lq, Lk]·[Lk, Dv]
            MatrixMultiply.gemm(
                m: p.queryLength, n: p.valueDimension, k: p.keyLength,
                a: w, lda: p.keyLength, transposeA: false, b: v, ldb: p.valueDimension, transposeB: false,
                c: out, ldc: p.valueDimension, accumulate: false)
        }
        return (output, logSumExp(scores))
    }

    /// Softmax weights `[B, Hq, Lq, Lk]`.
    package static func weights(_ p: AttentionProblem, queries: Tensor, keys: Tensor) -> Tensor {
        scores(p, queries: queries, keys: keys).softmax()
    }

    /// Masked, scaled scores `[B, Hq, Lq, Lk]`: `scale·Q·Kᵀ + bias`, forbidden pairs `-inf`.
    package static func scores(_ p: AttentionProblem, queries: Tensor, keys: Tensor) -> Tensor {
        let (lq, lk, d) = (p.queryLength, p.keyLength, p.headDimension)
        var s = perHead(p, queries, keys, rows: lq, columns: lk) { q, k, out in
            // S = Q·Kᵀ: [Lq, D]·[D, Lk]
            MatrixMultiply.gemm(
                m: lq, n: lk, k: d, a: q, lda: d, transposeA: false, b: k, ldb: d, transposeB: true,
                c: out, ldc: lk, accumulate: false)
        }
        let element = p.elementMask
        let ms = element.map { AttentionProblem.maskStrides($0.tensor, batch: p.batch, heads: p.queryHeads, queries: lq, keys: lk) }
        let maskScalars = element?.tensor.scalars ?? []
        s.withUnsafeMutableBufferPointer { out in
            let out = out
            parallelFor(p.batch * p.queryHeads) { bh in
                let b = bh / p.queryHeads, h = bh % p.queryHeads
                let slope = p.alibiSlopes?[h]
                for i in 0..<lq {
                    let row = out.baseAddress! + (bh * lq + i) * lk
                    let allowed = p.keyRange(batch: b, query: i)
                    for j in 0..<lk {
                        guard allowed.contains(j) else { row[j] = -.infinity; continue }
                        var score = row[j] * p.scale
                        if let slope { score -= slope * Float(abs(i + p.causalOffset - j)) }
                        if let ms, let kind = element?.kind {
                            let m = maskScalars[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]]
                            if kind == 2 { score += m } else if m == 0 { score = -.infinity }
                        }
                        row[j] = score
                    }
                }
            }
        }
        return s
    }

    /// `log Σⱼ exp(sᵢⱼ)` per row of masked scores `[..., Lk]` → `[...]` (`-inf` for empty rows).
    package static func logSumExp(_ scores: Tensor) -> Tensor {
        let lk = scores.shape.last ?? 1
        let rows = lk == 0 ? scores.shape.dropLast().reduce(1, *) : scores.count / lk
        var out = [Float](repeating: -.infinity, count: rows)
        scores.withUnsafeBufferPointer { x in
            for r in 0..<rows where lk > 0 {
                var m = -Float.infinity
                for j in 0..<lk { m = max(m, x[r * lk + j]) }
                guard m > -.infinity else { continue }
                var sum: Float = 0
                for j in 0..<lk { sum += ak_exp(x[r * lk + j] - m) }
                out[r] = m + logf(sum)
            }
        }
        return Tensor(shape: Array(scores.shape.dropLast()), scalars: out)
    }

    /// Runs `body(a_h, b_g, out_bh)` for every (batch, query head), where `a` is per query head
    /// (`[B, Hq, …]`) and `b` per key/value head (`[B, Hkv, …]`, shared by `Hq/Hkv` query
    /// heads without copying). Returns `[B, Hq, rows, columns]`.
    static func perHead(
        _ p: AttentionProblem, _ a: Tensor, _ b: Tensor, rows: Int, columns: Int,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> Tensor {
        var result = Tensor.zeros([p.batch, p.queryHeads, rows, columns])
        let aSlice = a.count / max(1, p.batch * p.queryHeads)
        let bSlice = b.count / max(1, p.batch * p.keyValueHeads)
        guard result.count > 0, aSlice > 0, bSlice > 0 else { return result }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                result.withUnsafeMutableBufferPointer { out in
                    let out = out
                    parallelFor(p.batch * p.queryHeads) { bh in
                        let bIndex = bh / p.queryHeads, h = bh % p.queryHeads
                        let g = bIndex * p.keyValueHeads + h / p.groupSize
                        body(pa.baseAddress! + bh * aSlice, pb.baseAddress! + g * bSlice,
                             out.baseAddress! + bh * rows * columns)
                    }
                }
            }
        }
        return result
    }
}
