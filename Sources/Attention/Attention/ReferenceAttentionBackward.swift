/// The reference attention backward: materialise each head's `Lq × Lk` probabilities and
/// apply the textbook chain rule with matrix products. Readable first; it is the
/// specification the fused backward is tested against. Memory is O(B·Hq·Lq·Lk).
///
/// It recomputes `P = softmax(S)` from scratch rather than from the forward's log-sum-exp,
/// and takes `δᵢ = Σⱼ Pᵢⱼ·dPᵢⱼ` from its definition rather than as `dOᵢ·Oᵢ`, so it shares
/// no shortcut with the fused kernel.
package enum ReferenceAttentionBackward {
    /// `(dQ, dK, dV)` for output gradient `dO` `[B, Hq, Lq, Dv]`; see
    /// ``scaledDotProductAttentionBackward(outputGradient:queries:keys:values:output:logSumExp:scale:mask:alibiSlopes:implementation:)``.
    package static func backward(
        _ p: AttentionProblem, outputGradient: Tensor, queries: Tensor, keys: Tensor, values: Tensor
    ) -> (queries: Tensor, keys: Tensor, values: Tensor) {
        let (bn, hq, hkv) = (p.batch, p.queryHeads, p.keyValueHeads)
        let (lq, lk, d, dv) = (p.queryLength, p.keyLength, p.headDimension, p.valueDimension)
        var dQ = Tensor.zeros(queries.shape), dK = Tensor.zeros(keys.shape), dV = Tensor.zeros(values.shape)
        guard bn * hq * lq > 0, lk > 0 else { return (dQ, dK, dV) }
        let weights = ReferenceAttention.weights(p, queries: queries, keys: keys)   // P [B, Hq, Lq, Lk]
        weights.withUnsafeBufferPointer { pw in
        outputGradient.withUnsafeBufferPointer { pdo in
        queries.withUnsafeBufferPointer { pq in
        keys.withUnsafeBufferPointer { pk in
        values.withUnsafeBufferPointer { pv in
        dQ.withUnsafeMutableBufferPointer { dq in
        dK.withUnsafeMutableBufferPointer { dk in
        dV.withUnsafeMutableBufferPointer { dvOut in
            let (dq, dk, dvOut) = (dq.baseAddress!, dk.baseAddress!, dvOut.baseAddress!)
            // One work item per key/value head: it alone writes that head's dK and dV, summing
            // its query heads in order, so the result does not depend on scheduling.
            parallelFor(bn * hkv) { item in
                let b = item / hkv, g = item % hkv
                let kOff = item * lk * d, vOff = item * lk * dv
                var ds = [Float](repeating: 0, count: lq * lk)
                for h in g * p.groupSize..<(g + 1) * p.groupSize {
                    let bh = b * hq + h
                    let prob = pw.baseAddress! + bh * lq * lk
                    let gradOut = pdo.baseAddress! + bh * lq * dv
                    ds.withUnsafeMutableBufferPointer { ds in
                        let ds = ds.baseAddress!
                        // dP = dO·Vᵀ: [Lq, Dv]·[Dv, Lk]
                        MatrixMultiply.gemm(
                            m: lq, n: lk, k: dv, a: gradOut, lda: dv, transposeA: false,
                            b: pv.baseAddress! + vOff, ldb: dv, transposeB: true, c: ds, ldc: lk, accumulate: false)
                        // dS = P∘(dP − δ), δᵢ = Σⱼ Pᵢⱼ·dPᵢⱼ; the scale of S = scale·Q·Kᵀ folds in here.
                        for i in 0..<lq {
                            var delta: Float = 0
                            for j in 0..<lk { delta += prob[i * lk + j] * ds[i * lk + j] }
                            for j in 0..<lk { ds[i * lk + j] = p.scale * prob[i * lk + j] * (ds[i * lk + j] - delta) }
                        }
                        // dQ = dS·K: [Lq, Lk]·[Lk, D]
                        MatrixMultiply.gemm(
                            m: lq, n: d, k: lk, a: ds, lda: lk, transposeA: false,
                            b: pk.baseAddress! + kOff, ldb: d, transposeB: false,
                            c: dq + bh * lq * d, ldc: d, accumulate: false)
                        // dK += dSᵀ·Q: [Lk, Lq]·[Lq, D]
                        MatrixMultiply.gemm(
                            m: lk, n: d, k: lq, a: ds, lda: lk, transposeA: true,
                            b: pq.baseAddress! + bh * lq * d, ldb: d, transposeB: false,
                            c: dk + kOff, ldc: d, accumulate: true)
                        // dV += Pᵀ·dO: [Lk, Lq]·[Lq, Dv]
                        MatrixMultiply.gemm(
                            m: lk, n: dv, k: lq, a: prob, lda: lk, transposeA: true,
                            b: gradOut, ldb: dv, transposeB: false, c: dvOut + vOff, ldc: dv, accumulate: true)
                    }
                }
            }
        }}}}}}}}
        return (dQ, dK, dV)
    }
}
