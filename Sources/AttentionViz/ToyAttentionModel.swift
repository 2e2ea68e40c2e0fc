import Attention

/// A small, seeded, untrained self-attention model, so `attend explain` shows real numbers
/// from the real kernels without any downloaded weights.
///
/// Each layer is one `MultiHeadAttention` (no bias, no feed-forward, no normalisation) with a
/// residual connection: `X⁽ˡ⁺¹⁾ = X⁽ˡ⁾ + MHA⁽ˡ⁾(X⁽ˡ⁾)`. A token's embedding depends only on its
/// text (seeded by a hash of the lower-cased token), so "The" and "the" share one row, and
/// there is no positional encoding: the weights show the mechanics, not meaning.
public struct ToyAttentionModel: AttentionSource {
    /// How text becomes tokens.
    public enum Tokenization: String, Sendable, CaseIterable {
        /// Words and punctuation (``TextSegmentation/words(_:)``), as in the seeds.
        case words
        /// One token per byte, as a byte-level model (TinyLLM) sees text; adds the word view.
        case bytes
    }

    public struct Configuration: Sendable, Equatable {
        public var modelSize = 8
        public var heads = 2
        public var layers = 2
        public var seed: UInt64 = 7
        public var contextLength = 64
        public var tokenization = Tokenization.words
        /// Standard deviation of the projection weights: 0.5 makes `Q·Kᵀ/√d_k` spread enough
        /// (std ≈ 2) that the heatmaps are not flat, like a trained model's.
        public var weightStandardDeviation: Float = 0.5
        public init() {}
    }

    public let configuration: Configuration
    public let tokens: [String]
    public let wordGrouping: WordGrouping?
    /// The text's tokens that were dropped because they exceed the context (empty if none).
    public let droppedTokens: [String]
    let layerSteps: [AttentionSteps]

    /// Runs the toy model on `bytes`.
    ///
    /// - Throws: ``VizError/emptyText`` when there are no tokens, ``VizError/textTooLong``
    ///   when there are more than `contextLength` and `truncate` is false.
    public init(bytes: [UInt8], configuration: Configuration = Configuration(), truncate: Bool = false) throws {
        self.configuration = configuration
        var pieces: [(label: String, key: [UInt8], range: Range<Int>)]
        switch configuration.tokenization {
        case .words:
            pieces = TextSegmentation.words(bytes).map { word in
                (word.label, Array(bytes[word.byteRange]), word.byteRange)
            }
        case .bytes:
            pieces = bytes.enumerated().map { (TextSegmentation.byteLabel($1), [$1], $0..<($0 + 1)) }
        }
        guard !pieces.isEmpty, bytes.contains(where: { !TextInput.isWhitespace($0) }) else { throw VizError.emptyText }
        let context = configuration.contextLength
        if pieces.count > context {
            let dropped = pieces[context...].map(\.label)
            guard truncate else {
                throw VizError.textTooLong(tokenCount: pieces.count, context: context, cut: TextInput.preview(dropped))
            }
            self.droppedTokens = Array(dropped)
            pieces = Array(pieces[..<context])
        } else {
            self.droppedTokens = []
        }
        self.tokens = pieces.map(\.label)
        if configuration.tokenization == .bytes {
            let kept = Array(bytes[..<(pieces.last?.range.upperBound ?? 0)])
            self.wordGrouping = WordGrouping(bytes: kept)
        } else {
            self.wordGrouping = nil
        }

        var generator = SeededGenerator(seed: configuration.seed)
        let d = configuration.modelSize
        var x = Tensor(shape: [pieces.count, d],
                       scalars: pieces.flatMap { Self.embedding(of: $0.key, size: d, seed: configuration.seed) })
        var steps: [AttentionSteps] = []
        for _ in 0..<configuration.layers {
            let layer = MultiHeadAttention(
                modelSize: d, heads: configuration.heads, bias: false,
                standardDeviation: configuration.weightStandardDeviation, generator: &generator)
            let step = AttentionSteps(layer: layer, input: x)
            steps.append(step)
            x = x + step.output
        }
        self.layerSteps = steps
    }

    public var modelDescription: String {
        let c = configuration
        return "toy model (random weights, seed \(c.seed)): \(c.layers) layer\(c.layers == 1 ? "" : "s") × \(c.heads) heads, "
            + "d_model = \(c.modelSize), d_k = \(c.modelSize / c.heads), \(c.tokenization.rawValue) as tokens"
    }

    public var notes: [String] {
        var notes = ["No model given: the weights are random (seeded), so the numbers are real but the "
            + "patterns mean nothing. Pass --model DIR for a trained model."]
        if !droppedTokens.isEmpty {
            notes.append("The text was cut to the context of \(configuration.contextLength) tokens; dropped: "
                + TextInput.preview(droppedTokens))
        }
        return notes
    }

    public var layerCount: Int { layerSteps.count }
    public var headCount: Int { configuration.heads }
    public var contextLength: Int { configuration.contextLength }
    public func weights(layer: Int, head: Int) -> Tensor { layerSteps[layer].weights[head] }
    public func steps(layer: Int) -> AttentionSteps? { layerSteps[layer] }

    /// A token's embedding: `N(0, 1)` entries from a generator seeded by the model seed and a
    /// hash (FNV-1a) of the lower-cased token bytes, so equal words get equal rows.
    static func embedding(of key: [UInt8], size: Int, seed: UInt64) -> [Float] {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key {
            let lower = (byte >= 0x41 && byte <= 0x5A) ? byte + 32 : byte
            hash = (hash ^ UInt64(lower)) &* 0x0000_0100_0000_01B3
        }
        var generator = SeededGenerator(seed: seed ^ hash)
        return (0..<size).map { _ in generator.nextNormal() }
    }
}
