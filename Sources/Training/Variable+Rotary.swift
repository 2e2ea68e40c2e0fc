import Attention

extension Variable {
    /// Rotary position embedding of `[..., L, D]` (row `l` at position `startPosition + l`),
    /// with `rope`'s layout (GPT-NeoX "rotate half").
    public func rotated(by rope: RotaryEmbedding, startPosition: Int = 0) -> Variable {
        let y = rope(value, startPosition: startPosition)
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = R(p)·x per pair, R a rotation by p·θᵢ
            // backward: dx += R(p)ᵀ·g = R(−p)·g (the inverse rotation)
            tape.accumulate(rope(g, startPosition: startPosition, inverse: true), into: self)
        }
    }
}
