import Attention

/// Anything whose attention can be explained and viewed: the toy model here, and adapters for
/// TinyLLM (bytes as tokens) and pretrained BERT encoders (word pieces) added beside them.
///
/// Kept small on purpose: labels, the layer × head grid, and one `[T, T]` weight matrix per
/// (layer, head). A model that can also expose every intermediate of one layer's attention
/// (X, projections, Q/K/V, scores, Z, W^O) returns them from ``intermediates(layer:)`` and
/// `attend explain` then walks through them step by step.
public protocol AttentionSource {
    /// One line naming the model, e.g. "toy model (random weights, seed 7)".
    var modelDescription: String { get }
    /// Caveats to print with every view (e.g. "the weights are random ...").
    var notes: [String] { get }
    /// Display labels, one per token (escaped, see ``TextSegmentation/label(_:)``).
    var tokens: [String] { get }
    var layerCount: Int { get }
    var headCount: Int { get }
    /// For byte- or piece-level models: the word each token belongs to (`nil` for separators),
    /// and the word labels; used for the word-level view (``WordAggregation``).
    var wordGrouping: WordGrouping? { get }
    /// Softmax attention weights of one head, `[T, T]` (row = query token, column = key token).
    func weights(layer: Int, head: Int) -> Tensor
    /// Every intermediate of one layer's attention, when the model can provide them.
    func intermediates(layer: Int) -> AttentionIntermediates?
}

extension AttentionSource {
    public var notes: [String] { [] }
    public var wordGrouping: WordGrouping? { nil }
    public func intermediates(layer: Int) -> AttentionIntermediates? { nil }

    /// Every weight matrix, `[layer][head]`, each `[T, T]`.
    public func allWeights() -> [[Tensor]] {
        (0..<layerCount).map { layer in (0..<headCount).map { head in weights(layer: layer, head: head) } }
    }
}

/// Which word each token belongs to, for aggregating token attention to words.
public struct WordGrouping: Sendable, Equatable {
    /// `wordOfToken[t]` is the index into `words`, or `nil` for a separator token (a space).
    public var wordOfToken: [Int?]
    public var words: [String]

    public init(wordOfToken: [Int?], words: [String]) {
        precondition(wordOfToken.allSatisfy { $0 == nil || ($0! >= 0 && $0! < words.count) },
                     "WordGrouping: word indices must lie in 0..<\(words.count)")
        self.wordOfToken = wordOfToken
        self.words = words
    }

    /// The grouping of a byte string's bytes into the words of ``TextSegmentation/words(_:)``.
    public init(bytes: [UInt8]) {
        self.init(wordOfToken: TextSegmentation.wordIndexOfEachByte(bytes),
                  words: TextSegmentation.words(bytes).map(\.label))
    }
}

/// Every intermediate tensor of one layer's multi-head self-attention, in the seeds' notation
/// (row vectors, `Q = X·W_Q`):
///
///     Q = X·W_Q,  K = X·W_K,  V = X·W_V                  [T, d_model]
///     Qₕ, Kₕ, Vₕ = columns h·d_k ..< (h+1)·d_k           [T, d_k]
///     Sₕ = Qₕ·Kₕᵀ,  Ŝₕ = Sₕ / √d_k,  Aₕ = softmax(Ŝₕ)    [T, T]
///     Zₕ = Aₕ·Vₕ                                         [T, d_k]
///     concat = [Z₁ … Z_H],  output = concat·W^O          [T, d_model]
public struct AttentionIntermediates: Sendable {
    public var input: Tensor                 // X        [T, d_model]
    public var queryWeight: Tensor           // W_Q      [d_model, H·d_k]
    public var keyWeight: Tensor             // W_K      [d_model, H·d_k]
    public var valueWeight: Tensor           // W_V      [d_model, H·d_k]
    public var queries: Tensor               // Q        [T, H·d_k]
    public var keys: Tensor                  // K        [T, H·d_k]
    public var values: Tensor                // V        [T, H·d_k]
    public var headQueries: [Tensor]         // Qₕ       [T, d_k] per head
    public var headKeys: [Tensor]
    public var headValues: [Tensor]
    public var scores: [Tensor]              // Sₕ       [T, T]
    public var scaledScores: [Tensor]        // Ŝₕ       [T, T]
    public var weights: [Tensor]             // Aₕ       [T, T]
    public var headOutputs: [Tensor]         // Zₕ       [T, d_k]
    public var concatenated: Tensor          // [T, H·d_k]
    public var outputWeight: Tensor          // W^O      [H·d_k, d_model]
    public var output: Tensor                // [T, d_model]
    /// The factor the scores are multiplied by, `1/√d_k`.
    public var scale: Float
    /// Whether a causal mask hid later tokens (decoder models).
    public var isCausal: Bool

    public var headCount: Int { scores.count }
    public var headSize: Int { headQueries.first?.shape[1] ?? 0 }
}
