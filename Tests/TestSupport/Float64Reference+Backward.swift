import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Float64Reference {
    /// Gradients of `L = Σ dO ∘ attention(Q, K, V)` in Float64, from the definition, one query
    /// row at a time with no shared code: `P = softmax(scale·q·kⱼ + bias)` over allowed keys,
    /// `dVⱼ += Pⱼ·dO`, `dPⱼ = dO·vⱼ`, `dSⱼ = Pⱼ·(dPⱼ − Σₗ Pₗ·dPₗ)`, `dQ += scale·Σⱼ dSⱼ·kⱼ`,
    /// `dKⱼ += scale·dSⱼ·q` (summed over the query heads sharing a key head).
    public static func attentionBackward(
        queries: Tensor, keys: Tensor, values: Tensor, outputGradient: Tensor, scale: Double? = nil,
        allowed: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Bool = { _, _, _, _ in true },
        bias: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Double = { _, _, _, _ in 0 }
    ) -> (queries: [Double], keys: [Double], values: [Double]) {
        let (bn, hq, lq, d) = (queries.shape[0], queries.shape[1], queries.shape[2], queries.shape[3])
        let (hkv, lk, dv) = (keys.shape[1], keys.shape[2], values.shape[3])
        let group = hq / hkv
        let s = scale ?? 1 / Double(d).squareRoot()
        let (q, k, v, gradOut) = (queries.scalars, keys.scalars, values.scalars, outputGradient.scalars)
        var dq = [Double](repeating: 0, count: q.count)
        var dk = [Double](repeating: 0, count: k.count)
        var dvOut = [Double](repeating: 0, count: v.count)
        for b in 0..<bn {
            for h in 0..<hq {
                let qBase = (b * hq + h) * lq, kBase = (b * hkv + h / group) * lk
                for i in 0..<lq {
                    let qi = (qBase + i) * d, oi = (qBase + i) * dv
                    var scores = [Double?](repeating: nil, count: lk)
                    for j in 0..<lk where allowed(b, h, i, j) {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(q[qi + c]) * Double(k[(kBase + j) * d + c]) }
                        let value = dot * s + bias(b, h, i, j)
                        if value != -.infinity { scores[j] = value }
                    }
                    guard let m = scores.compactMap({ $0 }).max() else { continue }
                    let total = scores.compactMap { $0 }.reduce(0) { $0 + exp($1 - m) }
                    var p = [Double](repeating: 0, count: lk), dp = [Double](repeating: 0, count: lk)
                    var delta = 0.0
                    for j in 0..<lk {
                        guard let sc = scores[j] else { continue }
                        p[j] = exp(sc - m) / total
                        for c in 0..<dv { dp[j] += Double(gradOut[oi + c]) * Double(v[(kBase + j) * dv + c]) }
                        delta += p[j] * dp[j]
                    }
                    for j in 0..<lk where p[j] != 0 {
                        let ds = p[j] * (dp[j] - delta)
                        for c in 0..<d {
                            dq[qi + c] += s * ds * Double(k[(kBase + j) * d + c])
                            dk[(kBase + j) * d + c] += s * ds * Double(q[qi + c])
                        }
                        for c in 0..<dv { dvOut[(kBase + j) * dv + c] += p[j] * Double(gradOut[oi + c]) }
                    }
                }
            }
        }
        return (dq, dk, dvOut)
    }
}

extension AttentionCase {
    /// A seeded unit-normal output gradient `[B, Hq, Lq, Dv]`.
    public func outputGradient(seed: UInt64 = 5) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal([batch, queryHeads, queryLength, valueDimension], generator: &g)
    }

    /// The Float64 gradients `(dQ, dK, dV)` of this case for output gradient `dO`.
    public func float64Backward(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor)
        -> (queries: [Double], keys: [Double], values: [Double])
    {
        let (allowed, bias) = rules()
        return Float64Reference.attentionBackward(
            queries: q, keys: k, values: v, outputGradient: dO, scale: scale.map(Double.init),
            allowed: allowed, bias: bias)
    }
}
