import Attention
import Training

/// A minimal byte-level GPT built from the library's layers (what TinyLLM trains): token
/// embedding (tied output head), learned positions, pre-norm blocks, final LayerNorm.
/// The tests use it for the overfitting check and the throughput measurement.
struct TinyGPT: ParameterContainer {
    var embedding: Embedding
    var positions: LearnedPositionalEmbedding
    var blocks: [TransformerBlock]
    var finalNorm: LayerNorm
    let width: Int

    init(layers: Int, heads: Int, width: Int, context: Int, vocabulary: Int = 256, seed: UInt64 = 1) {
        var g = SeededGenerator(seed: seed)
        embedding = Embedding(vocabularySize: vocabulary, size: width, generator: &g)
        positions = LearnedPositionalEmbedding(maximumLength: context, size: width, standardDeviation: 0.02, generator: &g)
        blocks = (0..<layers).map { _ in
            TransformerBlock(modelSize: width, heads: heads, outputStandardDeviation: 0.02 / Float(2 * layers).squareRoot(), generator: &g)
        }
        finalNorm = LayerNorm(size: width)
        self.width = width
    }

    mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try embedding.visitParameters(prefix: Self.join(prefix, "embedding"), body)
        try positions.visitParameters(prefix: Self.join(prefix, "positions"), body)
        for i in blocks.indices { try blocks[i].visitParameters(prefix: Self.join(prefix, "blocks.\(i)"), body) }
        try finalNorm.visitParameters(prefix: Self.join(prefix, "finalNorm"), body)
    }

    /// Mean next-token cross-entropy of `tokens` (`B` rows of length `L`) against `targets`.
    func loss(tokens: [[Int]], targets: [[Int]], on tape: Tape, dropout: Float = 0) -> Variable {
        let (b, l) = (tokens.count, tokens[0].count)
        var x = embedding(tokens.flatMap { $0 }, on: tape, prefix: "embedding").reshaped([b, l, width])
        x = positions(x, prefix: "positions")
        for (i, block) in blocks.enumerated() {
            x = block(x, prefix: "blocks.\(i)", mask: .causal, residualDropout: dropout)
        }
        let h = finalNorm(x, prefix: "finalNorm").reshaped([b * l, width])
        let table = tape.parameter("embedding.weight", embedding.weight)
        let logits = h.matmul(table, transposingOther: true)
        return logits.crossEntropy(targets: targets.flatMap { $0 })
    }
}

/// Deterministic byte-like batches: `B` windows of length `L + 1` from a repeating text.
func byteBatch(batch: Int, length: Int, seed: UInt64) -> (tokens: [[Int]], targets: [[Int]]) {
    let text = Array("To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer ".utf8).map(Int.init)
    var g = SeededGenerator(seed: seed)
    var tokens: [[Int]] = [], targets: [[Int]] = []
    for _ in 0..<batch {
        let start = Int(g.next() % UInt64(text.count))
        let window = (0...length).map { text[(start + $0) % text.count] }
        tokens.append(Array(window.dropLast()))
        targets.append(Array(window.dropFirst()))
    }
    return (tokens, targets)
}
