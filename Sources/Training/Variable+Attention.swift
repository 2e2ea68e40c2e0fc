import Attention

/// Differentiable scaled dot-product attention:
/// `O = softmax(Q·Kᵀ · scale + bias) · V` with the mask and ALiBi semantics of
/// `scaledDotProductAttention(queries:keys:values:scale:mask:alibiSlopes:implementation:)`.
///
/// Shapes: queries `[B, Hq, Lq, D]`, keys `[B, Hkv, Lk, D]`, values `[B, Hkv, Lk, Dv]`
/// (`Hq % Hkv == 0`; query head `h` reads key/value head `h / (Hq / Hkv)`), output
/// `[B, Hq, Lq, Dv]`. Gradients of grouped keys/values are summed over the query heads that
/// share them.
///
/// - `implementation: .reference` composes the operation from recorded primitives (batched
///   matmul, scale, additive mask, softmax, matmul): readable, O(Lq·Lk) memory, and the only
///   path that supports `weightDropout` (dropout on the attention weights). It is the
///   specification the fused path is tested against.
/// - `.automatic` / `.fused` run the fused kernels: the forward
///   `scaledDotProductAttentionWithLogSumExp` saves only the output and the per-row
///   log-sum-exp, and the backward `scaledDotProductAttentionBackward` recomputes the
///   probabilities tile by tile (FlashAttention-2), never holding `Lq × Lk`. A positive
///   `weightDropout` on a training tape always takes the reference path, because the fused
///   kernel has no dropout.
public func scaledDotProductAttention(
    queries: Variable, keys: Variable, values: Variable,
    scale: Float? = nil, mask: AttentionMask = .none, alibiSlopes: [Float]? = nil,
    weightDropout: Float = 0,
    implementation: AttentionImplementation = .automatic
) -> Variable {
    let problem = AttentionProblem(
        function: "scaledDotProductAttention", queries: queries.shape, keys: keys.shape, values: values.shape,
        scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    let dropoutActive = weightDropout > 0 && queries.tape.isTraining
    if implementation != .reference && !dropoutActive {
        return FusedDifferentiableAttention.forward(
            queries: queries, keys: keys, values: values, scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    }
    return ComposedAttention.forward(problem, queries: queries, keys: keys, values: values, weightDropout: weightDropout)
}

/// Attention through the fused kernels: one recorded node whose backward is the fused
/// attention backward (gradients of grouped key/value heads summed by the kernel).
enum FusedDifferentiableAttention {
    static func forward(
        queries: Variable, keys: Variable, values: Variable, scale: Float?, mask: AttentionMask, alibiSlopes: [Float]?
    ) -> Variable {
        let (q, k, v) = (queries.value, keys.value, values.value)
        let (output, logSumExp) = scaledDotProductAttentionWithLogSumExp(
            queries: q, keys: k, values: v, scale: scale, mask: mask, alibiSlopes: alibiSlopes, implementation: .fused)
        return queries.tape.record(output, inputs: [queries, keys, values]) { [queries = queries.detached, keys = keys.detached, values = values.detached] g, tape in
            // forward: O = softmax(scale·Q·Kᵀ + bias)·V, saving lse per query row
            let gradients = scaledDotProductAttentionBackward(
                outputGradient: g, queries: q, keys: k, values: v, output: output, logSumExp: logSumExp,
                scale: scale, mask: mask, alibiSlopes: alibiSlopes, implementation: .fused)
            tape.accumulate(gradients.queries, into: queries)
            tape.accumulate(gradients.keys, into: keys)
            tape.accumulate(gradients.values, into: values)
        }
    }
}

/// Attention composed from recorded primitives; its gradient is the composition of theirs.
enum ComposedAttention {
    static func forward(
        _ p: AttentionProblem, queries: Variable, keys: Variable, values: Variable, weightDropout: Float
    ) -> Variable {
        let tape = queries.tape
        let (b, hq, hkv, g) = (p.batch, p.queryHeads, p.keyValueHeads, p.groupSize)
        let (lq, lk, d, dv) = (p.queryLength, p.keyLength, p.headDimension, p.valueDimension)
        // Group query heads by the key/value head they read: [B, Hkv, G, Lq, D] against
        // [B, Hkv, 1, Lk, D]; the batched matmul broadcasts (and its backward sums) over G.
        let q5 = queries.reshaped([b, hkv, g, lq, d])
        let k5 = keys.reshaped([b, hkv, 1, lk, d])
        let v5 = values.reshaped([b, hkv, 1, lk, dv])
        let scores = q5.matmul(k5, transposingOther: true).reshaped([b, hq, lq, lk]).scaled(by: p.scale)
        let biased = scores + tape.constant(bias(p))
        let weights = biased.softmax().dropout(probability: weightDropout)
        let out = weights.reshaped([b, hkv, g, lq, lk]).matmul(v5)
        return out.reshaped([b, hq, lq, dv])
    }

    /// The additive score bias `[B, Hq, Lq, Lk]`: `−∞` where the mask forbids a pair, plus
    /// ALiBi and any `.additive` mask values.
    static func bias(_ p: AttentionProblem) -> Tensor {
        let (lq, lk) = (p.queryLength, p.keyLength)
        var elementMask: Tensor? = nil, isAdditive = false
        switch p.mask.element {
        case .boolean(let t): elementMask = t
        case .additive(let t): elementMask = t; isAdditive = true
        case nil: break
        }
        let ms = elementMask.map { AttentionProblem.maskStrides($0, batch: p.batch, heads: p.queryHeads, queries: lq, keys: lk) }
        var out = [Float](repeating: -.infinity, count: p.batch * p.queryHeads * lq * lk)
        for bi in 0..<p.batch {
            for h in 0..<p.queryHeads {
                let slope = p.alibiSlopes?[h]
                for i in 0..<lq {
                    let row = ((bi * p.queryHeads + h) * lq + i) * lk
                    for j in p.keyRange(batch: bi, query: i) {
                        var value: Float = 0
                        if let slope { value -= slope * Float(abs(i + p.causalOffset - j)) }
                        if let ms, let m = elementMask?.scalars[bi * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]] {
                            if isAdditive { value += m } else if m == 0 { value = -.infinity }
                        }
                        out[row + j] = value
                    }
                }
            }
        }
        return Tensor(shape: [p.batch, p.queryHeads, lq, lk], scalars: out)
    }
}
