import Attention
import Foundation
import Testing

/// Properties every exact attention implementation must have, checked on both paths, plus the
/// seeds' worked examples computed for real.
@Suite struct AttentionPropertyTests {
    static let paths: [AttentionImplementation] = [.reference, .fused]

    static func inputs(lq: Int = 9, lk: Int = 13, d: Int = 7, dv: Int = 5, seed: UInt64 = 1) -> (Tensor, Tensor, Tensor) {
        (Tensor.randomNormal([2, 3, lq, d], seed: seed),
         Tensor.randomNormal([2, 3, lk, d], seed: seed + 1),
         Tensor.randomNormal([2, 3, lk, dv], seed: seed + 2))
    }

    @Test(arguments: [AttentionMask.none, .causal, .slidingWindow(4), .keyPadding([13, 6])])
    func weightRowsSumToOne(mask: AttentionMask) {
        let (q, k, _) = Self.inputs()
        let weights = attentionWeights(queries: q, keys: k, mask: mask)
        #expect(weights.shape == [2, 3, 9, 13])
        for row in 0..<(weights.count / 13) {
            let sum = weights.scalars[(row * 13)..<((row + 1) * 13)].reduce(0, +)
            #expect(abs(sum - 1) < 1e-5, "row \(row) sums to \(sum)")
        }
    }

    @Test(arguments: paths)
    func permutingKeysAndValuesTogetherChangesNothing(implementation: AttentionImplementation) {
        let (q, k, v) = Self.inputs()
        let permutation = [5, 0, 12, 3, 7, 1, 9, 11, 2, 10, 4, 8, 6]
        func permuted(_ t: Tensor) -> Tensor {
            Tensor.concatenated(permutation.map { t.sliced(axis: 2, $0..<($0 + 1)) }, axis: 2)
        }
        let a = scaledDotProductAttention(queries: q, keys: k, values: v, implementation: implementation)
        let b = scaledDotProductAttention(queries: q, keys: permuted(k), values: permuted(v), implementation: implementation)
        #expect(a.maxAbsDifference(b) < 1e-5, "\(implementation)")
    }

    @Test(arguments: paths)
    func causalOutputIgnoresLaterTokens(implementation: AttentionImplementation) {
        let (q, k, v) = Self.inputs(lq: 11, lk: 11)
        let base = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, implementation: implementation)
        // Change every key/value from position 6 on: rows 0...5 must not move at all.
        let noise = Tensor.randomNormal([2, 3, 5, 7], seed: 77)
        let k2 = Tensor.concatenated([k.sliced(axis: 2, 0..<6), noise], axis: 2)
        let v2 = Tensor.concatenated([v.sliced(axis: 2, 0..<6), noise.sliced(axis: 3, 0..<5)], axis: 2)
        let changed = scaledDotProductAttention(queries: q, keys: k2, values: v2, mask: .causal, implementation: implementation)
        #expect(base.sliced(axis: 2, 0..<6) == changed.sliced(axis: 2, 0..<6), "\(implementation)")
        #expect(base.sliced(axis: 2, 6..<11).maxAbsDifference(changed.sliced(axis: 2, 6..<11)) > 1e-3, "later rows do see the change")
    }

    @Test(arguments: paths)
    func addingAConstantToEveryScoreChangesNothing(implementation: AttentionImplementation) {
        let (q, k, v) = Self.inputs()
        let shift = Tensor(repeating: 3.5, shape: [1, 1, 1, 1])
        let a = scaledDotProductAttention(queries: q, keys: k, values: v, implementation: implementation)
        let b = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .additive(shift), implementation: implementation)
        #expect(a.maxAbsDifference(b) < 1e-5, "\(implementation)")
    }

    @Test(arguments: paths)
    func rowsThatMayAttendToNothingAreZero(implementation: AttentionImplementation) {
        let (q, k, v) = Self.inputs(lq: 4, lk: 6)
        var allowed = [Float](repeating: 1, count: 4 * 6)
        for j in 0..<6 { allowed[2 * 6 + j] = 0 }  // query row 2 sees no key
        let mask = AttentionMask.boolean(Tensor(shape: [1, 1, 4, 6], scalars: allowed))
        let out = scaledDotProductAttention(queries: q, keys: k, values: v, mask: mask, implementation: implementation)
        let row2 = out.sliced(axis: 2, 2..<3)
        #expect(row2.scalars.allSatisfy { $0 == 0 }, "\(implementation): \(row2.scalars)")
        #expect(out.scalars.allSatisfy { $0.isFinite })
        // Key padding of length 0 empties every row of that batch entry.
        let padded = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .keyPadding([0, 6]), implementation: implementation)
        #expect(padded.sliced(axis: 0, 0..<1).scalars.allSatisfy { $0 == 0 })
    }

    /// Seed 000: q_it · k_cat = 0.9·0.8 + 0.1·0.2 + 0·0 + 0.2·0.1 + 0.3·0.3 = 0.85.
    @Test func seed000ItAttendsToCat() {
        let qIt: [Float] = [0.9, 0.1, 0.0, 0.2, 0.3]
        let kIt: [Float] = [0.1, 0.3, 0.2, 0.0, 0.4]
        let kCat: [Float] = [0.8, 0.2, 0.0, 0.1, 0.3]
        let q = Tensor(shape: [1, 1, 1, 5], scalars: qIt)
        let k = Tensor(shape: [1, 1, 2, 5], scalars: kIt + kCat)
        let scores = q.matmul(k, transposingOther: true)
        #expect(abs(scores.scalars[1] - 0.85) < 1e-6, "q_it·k_cat = \(scores.scalars[1])")
        #expect(abs(scores.scalars[0] - 0.24) < 1e-6, "q_it·k_it = \(scores.scalars[0])")
        // Unscaled (scale 1) weights are the softmax of those two scores.
        let weights = attentionWeights(queries: q, keys: k, scale: 1)
        let expected = 1 / (1 + exp(0.24 - 0.85))
        #expect(abs(Double(weights.scalars[1]) - expected) < 1e-6)
    }

    /// Seed 003: "sat" scores [0.1, 0.8, 0.2, 0.05, 0.05, 0.9]. The document prints
    /// [0.05, 0.25, 0.1, 0.02, 0.02, 0.56] as illustrative weights; the true softmax is flatter.
    @Test(arguments: paths)
    func seed003SatRowIsTheTrueSoftmax(implementation: AttentionImplementation) {
        let scores: [Float] = [0.1, 0.8, 0.2, 0.05, 0.05, 0.9]
        // One query of width 1 equal to 1 and keys equal to the scores reproduce them with scale 1.
        let q = Tensor(shape: [1, 1, 1, 1], scalars: [1])
        let k = Tensor(shape: [1, 1, 6, 1], scalars: scores)
        let weights = attentionWeights(queries: q, keys: k, scale: 1)
        let exps = scores.map { exp(Double($0)) }
        let truth = exps.map { $0 / exps.reduce(0, +) }
        for (w, t) in zip(weights.scalars, truth) { #expect(abs(Double(w) - t) < 1e-6) }
        // numpy: softmax(scores) = [0.1213, 0.2442, 0.1340, 0.1153, 0.1153, 0.2699]; "mat" gets 27%, not 56%.
        #expect(abs(truth[5] - 0.26986) < 1e-4 && abs(truth[1] - 0.24418) < 1e-4, "true weights: \(truth)")
        // The attention output with one-hot values reads the weights back out on either path.
        var identity = [Float](repeating: 0, count: 36)
        for i in 0..<6 { identity[i * 6 + i] = 1 }
        let out = scaledDotProductAttention(queries: q, keys: k, values: Tensor(shape: [1, 1, 6, 6], scalars: identity),
                                            scale: 1, implementation: implementation)
        for (w, t) in zip(out.scalars, truth) { #expect(abs(Double(w) - t) < 1e-6, "\(implementation)") }
    }
}
