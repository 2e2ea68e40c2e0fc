import Attention
import Testing
import Training

/// One attention configuration: shapes, mask, ALiBi, scale.
struct AttentionCase: CustomStringConvertible, Sendable {
    let name: String
    let batch: Int, queryHeads: Int, keyValueHeads: Int
    let queryLength: Int, keyLength: Int, headDimension: Int, valueDimension: Int
    var mask: AttentionMask = .none
    var alibi = false
    var scale: Float? = nil
    var description: String { name }

    var inputs: [Tensor] {
        [randomTensor([batch, queryHeads, queryLength, headDimension], seed: 101),
         randomTensor([batch, keyValueHeads, keyLength, headDimension], seed: 102),
         randomTensor([batch, keyValueHeads, keyLength, valueDimension], seed: 103)]
    }

    static let all: [AttentionCase] = [
        AttentionCase(name: "MHA none Lq≠Lk D≠Dv", batch: 2, queryHeads: 2, keyValueHeads: 2, queryLength: 3, keyLength: 5, headDimension: 4, valueDimension: 3),
        AttentionCase(name: "GQA 4/2 causal", batch: 1, queryHeads: 4, keyValueHeads: 2, queryLength: 5, keyLength: 5, headDimension: 3, valueDimension: 3, mask: .causal),
        AttentionCase(name: "MQA 3/1 causal Lq<Lk", batch: 2, queryHeads: 3, keyValueHeads: 1, queryLength: 3, keyLength: 7, headDimension: 4, valueDimension: 2, mask: .causal),
        AttentionCase(name: "causal Lq>Lk (first rows see nothing)", batch: 1, queryHeads: 2, keyValueHeads: 2, queryLength: 5, keyLength: 3, headDimension: 2, valueDimension: 3, mask: .causal),
        AttentionCase(name: "sliding window 2, GQA 2/1", batch: 1, queryHeads: 2, keyValueHeads: 1, queryLength: 6, keyLength: 6, headDimension: 3, valueDimension: 4, mask: .slidingWindow(2)),
        AttentionCase(name: "key padding [3, 0] (row 1 fully masked)", batch: 2, queryHeads: 2, keyValueHeads: 2, queryLength: 3, keyLength: 4, headDimension: 3, valueDimension: 3, mask: .keyPadding([3, 0])),
        AttentionCase(name: "boolean [1,1,Lq,Lk] mask", batch: 2, queryHeads: 2, keyValueHeads: 1, queryLength: 3, keyLength: 4, headDimension: 3, valueDimension: 2,
                      mask: .boolean(Tensor(shape: [1, 1, 3, 4], scalars: [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]))),
        AttentionCase(name: "additive [B,1,Lq,Lk] mask, scale 0.3", batch: 2, queryHeads: 2, keyValueHeads: 2, queryLength: 2, keyLength: 3, headDimension: 3, valueDimension: 3,
                      mask: .additive(randomTensor([2, 1, 2, 3], seed: 104)), scale: 0.3),
        AttentionCase(name: "ALiBi causal GQA 4/2", batch: 1, queryHeads: 4, keyValueHeads: 2, queryLength: 4, keyLength: 4, headDimension: 2, valueDimension: 2, mask: .causal, alibi: true),
        AttentionCase(name: "single query single key", batch: 1, queryHeads: 1, keyValueHeads: 1, queryLength: 1, keyLength: 1, headDimension: 1, valueDimension: 1),
        // Composed masks: causal + padding (a batch of prompts), window + padding + boolean, causal + additive.
        AttentionCase(name: "causal + key padding [4, 2] Lq<Lk", batch: 2, queryHeads: 2, keyValueHeads: 1, queryLength: 3, keyLength: 5, headDimension: 3, valueDimension: 2,
                      mask: AttentionMask(causal: true, keyLengths: [4, 2])),
        AttentionCase(name: "window 2 + padding [5, 0] + boolean", batch: 2, queryHeads: 2, keyValueHeads: 2, queryLength: 5, keyLength: 5, headDimension: 2, valueDimension: 3,
                      mask: AttentionMask.slidingWindow(2).combined(with: .keyPadding([5, 0]))
                          .combined(with: .boolean(Tensor(shape: [1, 1, 1, 5], scalars: [1, 0, 1, 1, 1])))),
        AttentionCase(name: "causal + additive, ALiBi", batch: 1, queryHeads: 2, keyValueHeads: 2, queryLength: 4, keyLength: 4, headDimension: 3, valueDimension: 3,
                      mask: AttentionMask.causal.combined(with: .additive(randomTensor([1, 2, 4, 4], seed: 105))), alibi: true),
    ]
}

@Suite struct AttentionGradientTests {
    static func gradientCase(_ a: AttentionCase, _ implementation: AttentionImplementation) -> GradientCase {
        GradientCase(name: "\(a.name) [\(implementation)]", inputs: a.inputs) { v in
            scaledDotProductAttention(
                queries: v[0], keys: v[1], values: v[2], scale: a.scale, mask: a.mask,
                alibiSlopes: a.alibi ? alibiSlopes(heads: a.queryHeads) : nil, implementation: implementation)
        }
    }

    @Test(arguments: AttentionCase.all, [AttentionImplementation.reference, .fused])
    func backwardMatchesCentralDifferences(_ a: AttentionCase, _ implementation: AttentionImplementation) {
        let failures = GradientChecker.check(Self.gradientCase(a, implementation))
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// Attention-weight dropout (reference path): every evaluation uses the same tape seed,
    /// hence the same mask, so central differences see a fixed function.
    @Test(arguments: [AttentionCase.all[1], AttentionCase.all[5], AttentionCase.all[8]])
    func weightDropoutBackwardMatchesCentralDifferences(_ a: AttentionCase) {
        let c = GradientCase(name: "\(a.name) [weight dropout 0.3]", inputs: a.inputs) { v in
            scaledDotProductAttention(
                queries: v[0], keys: v[1], values: v[2], scale: a.scale, mask: a.mask,
                alibiSlopes: a.alibi ? alibiSlopes(heads: a.queryHeads) : nil, weightDropout: 0.3)
        }
        let failures = GradientChecker.check(c)
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// The fused path (one node, FlashAttention-2 backward) and the composed reference path
    /// (matmul, softmax, matmul on the tape) give the same gradients within 1e-4 on every
    /// mask kind, GQA/MQA, Lq ≠ Lk and D ≠ Dv. Both are Float32 sums of O(Lk·D) terms of
    /// size O(1) here, so they agree to ~1e-6; 1e-4 is the bound.
    @Test(arguments: AttentionCase.all)
    func fusedGradientsMatchTheComposedPath(_ a: AttentionCase) throws {
        let slopes = a.alibi ? alibiSlopes(heads: a.queryHeads) : nil
        let projection = Tensor.randomUniform(
            [a.batch, a.queryHeads, a.queryLength, a.valueDimension], low: -1, high: 1, seed: 5)
        func gradients(_ implementation: AttentionImplementation) throws -> Gradients {
            let tape = Tape()
            let v = a.inputs.enumerated().map { tape.parameter("x\($0.offset)", $0.element) }
            let y = scaledDotProductAttention(queries: v[0], keys: v[1], values: v[2], scale: a.scale, mask: a.mask,
                                              alibiSlopes: slopes, implementation: implementation)
            return try tape.backward((y * tape.constant(projection)).sum())
        }
        let fused = try gradients(.fused), composed = try gradients(.reference)
        for name in ["x0", "x1", "x2"] {
            let f = try #require(fused[name], "\(a.name): fused has no gradient for \(name)")
            let c = try #require(composed[name], "\(a.name): composed has no gradient for \(name)")
            #expect(f.maxAbsDifference(c) <= 1e-4, "\(a.name): \(name) differs by \(f.maxAbsDifference(c))")
        }
    }

    @Test(arguments: AttentionCase.all)
    func forwardMatchesTheEngine(_ a: AttentionCase) {
        let inputs = a.inputs
        let slopes = a.alibi ? alibiSlopes(heads: a.queryHeads) : nil
        let expected = scaledDotProductAttention(
            queries: inputs[0], keys: inputs[1], values: inputs[2], scale: a.scale, mask: a.mask,
            alibiSlopes: slopes, implementation: .reference)
        for implementation in [AttentionImplementation.reference, .automatic] {
            let tape = Tape()
            let v = inputs.map { tape.constant($0) }
            let y = scaledDotProductAttention(queries: v[0], keys: v[1], values: v[2], scale: a.scale, mask: a.mask,
                                              alibiSlopes: slopes, implementation: implementation)
            #expect(y.value.maxAbsDifference(expected) <= 1e-5, "\(a.name) [\(implementation)]")
        }
    }

    @Test func fullyMaskedRowsGetZeroGradientsNotNaN() throws {
        let a = AttentionCase.all[5]  // key padding with a zero-length row
        let tape = Tape()
        let v = a.inputs.enumerated().map { tape.parameter("x\($0.offset)", $0.element) }
        let y = scaledDotProductAttention(queries: v[0], keys: v[1], values: v[2], mask: a.mask)
        let gradients = try tape.backward((y * y).sum())
        let dq = try #require(gradients["x0"])
        // Batch row 1 may attend nothing: its output is 0 and its query gradient is exactly 0.
        let half = dq.count / 2
        #expect(dq.scalars[half...].allSatisfy { $0 == 0 }, "dq of fully masked rows: \(dq.scalars[half...].prefix(6))")
        #expect(dq.scalars.allSatisfy { $0.isFinite })
    }
}
