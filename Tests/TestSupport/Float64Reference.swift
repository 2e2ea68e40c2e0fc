import Attention

/// Float64 references: the independent specification every kernel is tested against.
public enum Float64Reference {
    /// Attention in Float64, written from the definition with no shared code:
    /// `out[b,h,i,:] = Σⱼ softmax_j(scale·q·kⱼ + bias(i,j)) · vⱼ`, where forbidden pairs
    /// are dropped and a row with no allowed key is zero.
    public static func attention(
        queries: Tensor, keys: Tensor, values: Tensor, scale: Double? = nil,
        allowed: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Bool = { _, _, _, _ in true },
        bias: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Double = { _, _, _, _ in 0 }
    ) -> [Double] {
        let (bn, hq, lq, d) = (queries.shape[0], queries.shape[1], queries.shape[2], queries.shape[3])
        let (hkv, lk, dv) = (keys.shape[1], keys.shape[2], values.shape[3])
        let group = hq / hkv
        let s = scale ?? 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: bn * hq * lq * dv)
        for b in 0..<bn {
            for h in 0..<hq {
                let g = h / group
                for i in 0..<lq {
                    var scores = [Double?](repeating: nil, count: lk)
                    for j in 0..<lk where allowed(b, h, i, j) {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(queries[b, h, i, c]) * Double(keys[b, g, j, c]) }
                        let v = dot * s + bias(b, h, i, j)
                        if v != -.infinity { scores[j] = v }
                    }
                    let present = scores.compactMap { $0 }
                    guard let m = present.max() else { continue }
                    let total = present.reduce(0) { $0 + exp($1 - m) }
                    for j in 0..<lk {
                        guard let sc = scores[j] else { continue }
                        let w = exp(sc - m) / total
                        for c in 0..<dv { out[((b * hq + h) * lq + i) * dv + c] += w * Double(values[b, g, j, c]) }
                    }
                }
            }
        }
        return out
    }

    /// Largest absolute difference between a Float32 tensor and Float64 values.
    public static func maxAbsError(_ t: Tensor, _ reference: [Double]) -> Double {
        precondition(t.count == reference.count, "maxAbsError: \(t.count) vs \(reference.count) elements")
        var m = 0.0
        for i in 0..<t.count { m = max(m, abs(Double(t.scalars[i]) - reference[i])) }
        return m
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Float64Reference {
    /// Float64 attention plus, per row, `log Σⱼ exp(score)` over the allowed keys (`-inf` when none).
    public static func attentionWithLogSumExp(
        queries: Tensor, keys: Tensor, values: Tensor, scale: Double? = nil,
        allowed: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Bool = { _, _, _, _ in true },
        bias: (_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Double = { _, _, _, _ in 0 }
    ) -> (output: [Double], logSumExp: [Double]) {
        let output = attention(queries: queries, keys: keys, values: values, scale: scale, allowed: allowed, bias: bias)
        let (bn, hq, lq, d) = (queries.shape[0], queries.shape[1], queries.shape[2], queries.shape[3])
        let (hkv, lk) = (keys.shape[1], keys.shape[2])
        let s = scale ?? 1 / Double(d).squareRoot()
        var lse = [Double](repeating: -.infinity, count: bn * hq * lq)
        for b in 0..<bn {
            for h in 0..<hq {
                for i in 0..<lq {
                    var scores: [Double] = []
                    for j in 0..<lk where allowed(b, h, i, j) {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(queries[b, h, i, c]) * Double(keys[b, h / (hq / hkv), j, c]) }
                        let v = dot * s + bias(b, h, i, j)
                        if v != -.infinity { scores.append(v) }
                    }
                    guard let m = scores.max() else { continue }
                    lse[(b * hq + h) * lq + i] = m + log(scores.reduce(0) { $0 + exp($1 - m) })
                }
            }
        }
        return (output, lse)
    }
}
