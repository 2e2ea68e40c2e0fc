import Attention

// Differentiable forwards of the Attention module's layers. Each reads its parameters from the
// tape by checkpoint name (`prefix.weight`, `prefix.bias`), registering them from the layer's
// stored values on first use, so `tape.register(model)` is optional and a parameter used
// twice (tied weights) accumulates every use.

extension Linear {
    /// `x·Wᵀ + b` on the tape; `prefix` is this layer's checkpoint name (`blocks.0.mlp.fc`).
    public func callAsFunction(_ x: Variable, prefix: String, activation: GELUApproximation? = nil) -> Variable {
        let w = x.tape.parameter(Self.join(prefix, "weight"), weight)
        let b = bias.map { x.tape.parameter(Self.join(prefix, "bias"), $0) }
        return x.linear(weight: w, bias: b, activation: activation)
    }
}

extension LayerNorm {
    /// `(x − μ)/√(σ² + ε) · γ + β` on the tape, reading `prefix.weight` / `prefix.bias`.
    public func callAsFunction(_ x: Variable, prefix: String) -> Variable {
        let w = x.tape.parameter(Self.join(prefix, "weight"), weight)
        let b = bias.map { x.tape.parameter(Self.join(prefix, "bias"), $0) }
        return x.layerNorm(weight: w, bias: b, epsilon: epsilon)
    }
}

extension Embedding {
    /// Rows for `ids` on `tape` (`[ids.count, size]`), reading `prefix.weight`.
    public func callAsFunction(_ ids: [Int], on tape: Tape, prefix: String) -> Variable {
        tape.parameter(Self.join(prefix, "weight"), weight).gatheringRows(ids)
    }
}

extension RMSNorm {
    /// `x · rstd · γ` on the tape, reading `prefix.weight`.
    public func callAsFunction(_ x: Variable, prefix: String) -> Variable {
        x.rmsNorm(weight: x.tape.parameter(Self.join(prefix, "weight"), weight), epsilon: epsilon)
    }
}

extension FeedForward {
    /// `down(gelu(up(x)))` on the tape, reading `prefix.up.*` and `prefix.down.*`. The
    /// up-projection, its bias and the GELU run as one fused op.
    public func callAsFunction(_ x: Variable, prefix: String) -> Variable {
        down(up(x, prefix: Self.join(prefix, "up"), activation: activation), prefix: Self.join(prefix, "down"))
    }
}

extension TransformerBlock {
    /// The block on the tape, reading `prefix.norm1.*`, `prefix.attention.*`, `prefix.norm2.*`,
    /// `prefix.feedForward.*`.
    ///
    /// Pre-norm: `h = x + drop(attn(norm1(x)))`, `y = h + drop(ffn(norm2(h)))`; post-norm:
    /// `h = norm1(x + drop(attn(x)))`, `y = norm2(h + drop(ffn(h)))`. `residualDropout` is
    /// GPT-2's dropout on each branch before the residual add; `attentionDropout` drops
    /// attention weights. Both are identity when the tape is not training.
    public func callAsFunction(
        _ x: Variable, prefix: String, mask: AttentionMask = .none, positionOffset: Int = 0,
        residualDropout: Float = 0, attentionDropout: Float = 0
    ) -> Variable {
        func attend(_ input: Variable) -> Variable {
            attention(input, prefix: Self.join(prefix, "attention"), mask: mask, positionOffset: positionOffset,
                      weightDropout: attentionDropout).dropout(probability: residualDropout)
        }
        func feed(_ input: Variable) -> Variable {
            feedForward(input, prefix: Self.join(prefix, "feedForward")).dropout(probability: residualDropout)
        }
        let n1 = Self.join(prefix, "norm1"), n2 = Self.join(prefix, "norm2")
        switch placement {
        case .preNorm:
            let h = x + attend(norm1(x, prefix: n1))
            return h + feed(norm2(h, prefix: n2))
        case .postNorm:
            let h = norm1(x + attend(x), prefix: n1)
            return norm2(h + feed(h), prefix: n2)
        }
    }
}

extension LearnedPositionalEmbedding {
    /// `x + P[startPosition ..< startPosition + L]` for `x` `[..., L, size]`, reading
    /// `prefix.weight`; only the used rows of `P` receive gradient.
    public func callAsFunction(_ x: Variable, prefix: String, startPosition: Int = 0) -> Variable {
        let length = x.shape[x.rank - 2]
        checkPrecondition(x.rank >= 2 && x.shape[x.rank - 1] == size && startPosition >= 0 && startPosition + length <= maximumLength,
            "LearnedPositionalEmbedding: input \(x.shape) at start \(startPosition) needs [..., L, \(size)] with L + start ≤ \(maximumLength)")
        let table = x.tape.parameter(Self.join(prefix, "weight"), weight)
        return x + table.sliced(axis: 0, startPosition..<(startPosition + length))
    }
}

extension SinusoidalPositionalEncoding {
    /// `x + PE[startPosition ..< startPosition + L]` (no parameters; the gradient passes to `x`).
    public func callAsFunction(_ x: Variable, startPosition: Int = 0) -> Variable {
        let length = x.shape[x.rank - 2]
        return x + x.tape.constant(encodings(positions: startPosition..<(startPosition + length)))
    }
}
