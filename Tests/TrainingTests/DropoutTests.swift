import Attention
import Testing
import Training

/// Dropout is seeded (same tape seed, same mask), unbiased (survivors scaled by 1/(1 − p)),
/// and the identity in evaluation.
@Suite struct DropoutTests {
    static func dropped(_ x: Tensor, p: Float, seed: UInt64, training: Bool = true) -> Tensor {
        let tape = Tape(training: training, seed: seed)
        return tape.constant(x).dropout(probability: p).value
    }

    @Test func sameSeedSameMaskOtherSeedOtherMask() {
        let x = Tensor(repeating: 1, shape: [64, 65])
        #expect(Self.dropped(x, p: 0.25, seed: 3) == Self.dropped(x, p: 0.25, seed: 3))
        #expect(Self.dropped(x, p: 0.25, seed: 3) != Self.dropped(x, p: 0.25, seed: 4))
    }

    /// 41 600 Bernoulli(0.7) draws: the kept fraction has standard deviation √(0.21/41600)
    /// ≈ 0.0022, so ±0.01 is a 4.5σ bound.
    @Test func keptFractionAndScale() {
        let p: Float = 0.3
        let y = Self.dropped(Tensor(repeating: 2, shape: [640, 65]), p: p, seed: 11)
        let kept = y.scalars.filter { $0 != 0 }
        #expect(abs(Float(kept.count) / Float(y.count) - (1 - p)) < 0.01, "kept \(kept.count) of \(y.count)")
        #expect(kept.allSatisfy { abs($0 - 2 / (1 - p)) < 1e-6 }, "survivors are scaled by 1/(1 − p)")
    }

    @Test func evaluationIsTheIdentity() {
        let x = randomTensor([7, 9], seed: 1)
        #expect(Self.dropped(x, p: 0.5, seed: 1, training: false) == x)
        let tape = Tape(training: false)
        let q = tape.constant(randomTensor([1, 2, 5, 4], seed: 2)), k = tape.constant(randomTensor([1, 2, 5, 4], seed: 3))
        let v = tape.constant(randomTensor([1, 2, 5, 4], seed: 4))
        let withDropout = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, weightDropout: 0.5)
        let plain = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal)
        #expect(withDropout.value == plain.value, "attention-weight dropout is off in evaluation")
    }

    /// Attention-weight dropout (reference path) and residual dropout in a block: seeded,
    /// reproducible, and different from the undropped output in training.
    @Test func attentionAndResidualDropoutAreReproducible() {
        var g = SeededGenerator(seed: 5)
        let block = TransformerBlock(modelSize: 8, heads: 2, hiddenSize: 16, standardDeviation: 0.3, generator: &g)
        let x = randomTensor([2, 5, 8], seed: 6)
        func run(seed: UInt64, training: Bool, p: Float) -> Tensor {
            let tape = Tape(training: training, seed: seed)
            return block(tape.constant(x), prefix: "b", mask: .causal, residualDropout: p, attentionDropout: p).value
        }
        #expect(run(seed: 1, training: true, p: 0.2) == run(seed: 1, training: true, p: 0.2))
        #expect(run(seed: 1, training: true, p: 0.2) != run(seed: 2, training: true, p: 0.2))
        #expect(run(seed: 1, training: true, p: 0.2).maxAbsDifference(run(seed: 1, training: false, p: 0.2)) > 1e-3)
        #expect(run(seed: 1, training: false, p: 0.2).maxAbsDifference(block(x, mask: .causal)) <= 1e-5,
                "evaluation matches the inference forward")
    }
}
