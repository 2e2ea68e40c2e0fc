import Attention

extension Variable {
    /// Inverted dropout: in training each element is zeroed with probability `p` and the
    /// survivors are scaled by `1/(1 − p)`, so the expected value is unchanged; in evaluation
    /// (`tape.isTraining == false`) or with `p == 0` it is the identity (no node recorded).
    ///
    /// The mask comes from `tape.generator`, one uniform draw per element in row-major order,
    /// so the same generator state gives the same mask on every machine and thread count.
    /// - Precondition: `0 ≤ p < 1`.
    public func dropout(probability p: Float) -> Variable {
        checkPrecondition(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got \(p)")
        guard tape.isTraining, p > 0 else { return self }
        let keep = 1 / (1 - p)
        var generator = tape.generator
        let multiplier = Tensor(uninitializedShape: shape) { m in
            for i in m.indices { m[i] = generator.nextUnitFloat() < p ? 0 : keep }
        }
        tape.generator = generator
        let y = Tensor(uninitializedShape: shape) { out in
            value.withUnsafeBufferPointer { x in multiplier.withUnsafeBufferPointer { m in
                for i in out.indices { out[i] = x[i] * m[i] }
            } }
        }
        return tape.record(y, inputs: [self]) { [self = detached] g, tape in
            // forward: y = x ⊙ mask/(1 − p)  →  dx += g ⊙ mask/(1 − p)
            tape.withGradient(of: self) { acc, accumulate in
                g.withUnsafeBufferPointer { gp in multiplier.withUnsafeBufferPointer { m in
                    for i in acc.indices { acc[i] = accumulate ? acc[i] + gp[i] * m[i] : gp[i] * m[i] }
                } }
            }
        }
    }
}
