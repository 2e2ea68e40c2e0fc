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
