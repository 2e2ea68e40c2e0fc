import Attention

extension MultiHeadAttention {
    /// Differentiable self-attention: `x` `[B, L, modelSize]` → `[B, L, modelSize]`, reading
    /// `prefix.wq.weight` … `prefix.wo.bias` from the tape. Same mathematics as the `Tensor`
    /// forward (RoPE on queries and keys at `positionOffset`, ALiBi inside the kernel).
    ///
    /// `weightDropout` drops attention weights in training (it takes the materialised
    /// attention path; see ``scaledDotProductAttention(queries:keys:values:scale:mask:alibiSlopes:weightDropout:implementation:)``).
    public func callAsFunction(
        _ x: Variable, prefix: String, mask: AttentionMask = .none, positionOffset: Int = 0, weightDropout: Float = 0
    ) -> Variable {
        checkPrecondition(x.rank == 3 && x.shape[2] == modelSize,
            "MultiHeadAttention: x shape \(x.shape) must be [B, L, \(modelSize)] (wq \(wq.weight.shape))")
        var (q, k, v) = projectQueriesKeysValues(x, prefix: prefix)
        var slopes: [Float]? = nil
        switch positionalEncoding {
        case .rotary(let rope):
            q = q.rotated(by: rope, startPosition: positionOffset)
            k = k.rotated(by: rope, startPosition: positionOffset)
        case .alibi: slopes = alibiSlopes(heads: heads)
        case .none: break
        }
        let attended = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: scale, mask: mask, alibiSlopes: slopes,
            weightDropout: weightDropout, implementation: implementation)
        return wo(Self.mergeHeads(attended), prefix: Self.join(prefix, "wo"))
    }

    /// `q`, `k`, `v` in head layout. With as many key/value heads as query heads and the same
    /// bias setting on all three, one stacked GEMM computes them (``Variable/headProjections``);
    /// otherwise three `Linear`s and `splitHeads`.
    func projectQueriesKeysValues(_ x: Variable, prefix: String) -> (Variable, Variable, Variable) {
        let names = ["wq", "wk", "wv"].map { Self.join(prefix, $0) }
        let layers = [wq, wk, wv]
        let biased = layers.map { $0.bias != nil }
        guard keyValueHeads == heads, Set(biased).count == 1 else {
            return (Self.splitHeads(wq(x, prefix: names[0]), heads: heads),
                    Self.splitHeads(wk(x, prefix: names[1]), heads: keyValueHeads),
                    Self.splitHeads(wv(x, prefix: names[2]), heads: keyValueHeads))
        }
        let tape = x.tape
        let weights = zip(layers, names).map { tape.parameter(Self.join($1, "weight"), $0.weight) }
        let biases = biased[0]
            ? zip(layers, names).map { layer, name in
                tape.parameter(Self.join(name, "bias"),
                               checkNotNil(layer.bias, "MultiHeadAttention.projections: \(name) has no bias though all three do"))
            }
            : nil
        let stacked = Variable.headProjections(x, weights: weights, biases: biases, heads: heads)  // [3, B, H, L, D]
        let one = Array(stacked.shape.dropFirst())
        func part(_ i: Int) -> Variable { stacked.sliced(axis: 0, i..<(i + 1)).reshaped(one) }
        return (part(0), part(1), part(2))
    }

    /// Differentiable cross-attention: queries from `x` `[B, L, modelSize]`, keys and values
    /// from `context` `[B, Lc, contextSize]`; no RoPE/ALiBi (as in the `Tensor` forward).
    public func callAsFunction(_ x: Variable, context: Variable, prefix: String, mask: AttentionMask = .none) -> Variable {
        checkPrecondition(x.rank == 3 && x.shape[2] == modelSize && context.rank == 3 && context.shape[2] == contextSize
            && context.shape[0] == x.shape[0],
            "MultiHeadAttention: x \(x.shape) must be [B, L, \(modelSize)] and context \(context.shape) [B, Lc, \(contextSize)]")
        let q = Self.splitHeads(wq(x, prefix: Self.join(prefix, "wq")), heads: heads)
        let k = Self.splitHeads(wk(context, prefix: Self.join(prefix, "wk")), heads: keyValueHeads)
        let v = Self.splitHeads(wv(context, prefix: Self.join(prefix, "wv")), heads: keyValueHeads)
        let attended = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: scale, mask: mask, implementation: implementation)
        return wo(Self.mergeHeads(attended), prefix: Self.join(prefix, "wo"))
    }

    /// `[B, L, H·D]` → `[B, H, L, D]` on the tape.
    public static func splitHeads(_ x: Variable, heads: Int) -> Variable {
        checkPrecondition(x.rank == 3 && x.shape[2] % heads == 0,
            "MultiHeadAttention.splitHeads: shape \(x.shape) must be [B, L, H·D] with H = \(heads)")
        return x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).permuted([0, 2, 1, 3])
    }

    /// `[B, H, L, D]` → `[B, L, H·D]` on the tape.
    public static func mergeHeads(_ x: Variable) -> Variable {
        checkPrecondition(x.rank == 4, "MultiHeadAttention.mergeHeads: shape \(x.shape) must be [B, H, L, D]")
        let (b, h, l, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return x.permuted([0, 2, 1, 3]).reshaped([b, l, h * d])
    }
}
