import Attention
import Testing
import Training

/// Finite-difference checks of every layer's differentiable forward, with respect to the
/// input and every parameter by its checkpoint name.
enum LayerCase: String, CaseIterable, Sendable, CustomStringConvertible {
    case linear, linearNoBias, layerNorm, layerNormNoBias, rmsNorm, embedding
    case attentionCausal, attentionNoBiasRotary, attentionRotaryGQA, attentionALiBiMQA, crossAttentionPadded
    case feedForwardTanh, feedForwardExact, blockPreNorm, blockPostNormRotary
    case learnedPositions, sinusoidalPositions

    var description: String { rawValue }

    func failures() -> [String] {
        var g = SeededGenerator(seed: 3)
        // Larger init than 0.02 so every term of the gradient is visible above the FD noise.
        let std: Float = 0.4
        let x = randomTensor([2, 3, 8], seed: 21)
        switch self {
        case .linear:
            return LayerGradientChecker.check(description, layer: Linear(inputSize: 8, outputSize: 5, standardDeviation: std, generator: &g).withRandomBiases(seed: 1), input: x) {
                $0($1, prefix: "layer")
            }
        case .linearNoBias:
            return LayerGradientChecker.check(description, layer: Linear(inputSize: 8, outputSize: 1, bias: false, standardDeviation: std, generator: &g), input: x) {
                $0($1, prefix: "layer")
            }
        case .layerNorm:
            return LayerGradientChecker.check(description, layer: LayerNorm(weight: randomTensor([8], seed: 2), bias: randomTensor([8], seed: 3)), input: x) {
                $0($1, prefix: "layer")
            }
        case .layerNormNoBias:
            return LayerGradientChecker.check(description, layer: LayerNorm(weight: randomTensor([8], seed: 4), bias: nil), input: x) {
                $0($1, prefix: "layer")
            }
        case .rmsNorm:
            return LayerGradientChecker.check(description, layer: RMSNorm(weight: randomTensor([8], seed: 5)), input: x) {
                $0($1, prefix: "layer")
            }
        case .embedding:
            let ids = [3, 0, 3, 6, 1, 3]
            return LayerGradientChecker.check(description, layer: Embedding(vocabularySize: 7, size: 8, standardDeviation: 1, generator: &g), input: x) {
                $0(ids, on: $1.tape, prefix: "layer").reshaped([2, 3, 8]) * $1
            }
        case .attentionCausal:
            let layer = MultiHeadAttention(modelSize: 8, heads: 2, standardDeviation: std, generator: &g).withRandomBiases(seed: 6)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .causal) }
        case .attentionNoBiasRotary:  // stacked q/k/v projection without biases, D = 4
            let layer = MultiHeadAttention(modelSize: 8, heads: 3, headDimension: 4, bias: false,
                                           positionalEncoding: .rotary(headDimension: 4), standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .causal) }
        case .attentionRotaryGQA:
            let layer = MultiHeadAttention(modelSize: 8, heads: 4, keyValueHeads: 2, positionalEncoding: .rotary(headDimension: 2),
                                           standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .causal, positionOffset: 3) }
        case .attentionALiBiMQA:
            let layer = MultiHeadAttention(modelSize: 8, heads: 2, keyValueHeads: 1, headDimension: 3, bias: false,
                                           positionalEncoding: .alibi, standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .slidingWindow(2)) }
        case .crossAttentionPadded:
            let layer = MultiHeadAttention(modelSize: 8, heads: 2, contextSize: 5, standardDeviation: std, generator: &g)
            let context = randomTensor([2, 4, 5], seed: 7)
            return LayerGradientChecker.check(description, layer: layer, input: x) { l, v in
                l(v, context: v.tape.constant(context), prefix: "layer", mask: .keyPadding([4, 2]))
            }
        case .feedForwardTanh, .feedForwardExact:
            let layer = FeedForward(size: 8, hiddenSize: 12, activation: self == .feedForwardTanh ? .tanh : .exact,
                                    standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer") }
        case .blockPreNorm:
            let layer = TransformerBlock(modelSize: 8, heads: 2, hiddenSize: 16, standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .causal) }
        case .blockPostNormRotary:
            let layer = TransformerBlock(modelSize: 8, heads: 2, keyValueHeads: 1, hiddenSize: 8, positionalEncoding: .rotary(headDimension: 4),
                                         activation: .exact, placement: .postNorm, standardDeviation: std, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", mask: .causal) }
        case .learnedPositions:
            let layer = LearnedPositionalEmbedding(maximumLength: 6, size: 8, standardDeviation: 1, generator: &g)
            return LayerGradientChecker.check(description, layer: layer, input: x) { $0($1, prefix: "layer", startPosition: 2) }
        case .sinusoidalPositions:
            let encoding = SinusoidalPositionalEncoding(size: 8)
            return LayerGradientChecker.check(description, layer: NoParameters(), input: x) { _, v in
                encoding(v, startPosition: 1) * v
            }
        }
    }
}

/// A layer with no parameters (checks the input gradient only).
struct NoParameters: ParameterContainer {
    mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {}
}

extension ParameterContainer {
    /// Replaces every parameter named `*.bias` / `bias` with random values (zero biases
    /// would hide a bias-gradient bug behind a zero product).
    func withRandomBiases(seed: UInt64) -> Self {
        var copy = self
        var k: UInt64 = 0
        copy.visitParameters(prefix: "") { name, t in
            if name.hasSuffix("bias") { k += 1; t = randomTensor(t.shape, seed: seed &+ k, scale: 0.5) }
        }
        return copy
    }
}

@Suite struct LayerGradientTests {
    @Test(arguments: LayerCase.allCases)
    func backwardMatchesCentralDifferences(_ c: LayerCase) {
        let failures = c.failures()
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
    }
}
