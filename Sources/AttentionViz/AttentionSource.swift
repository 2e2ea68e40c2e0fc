import Attention

/// Anything whose attention can be explained and viewed: the toy model here, and adapters for
/// TinyLLM (bytes as tokens) and pretrained BERT encoders (word pieces) added beside them.
///
/// Kept small on purpose: labels, the layer × head grid, and one `[T, T]` weight matrix per
/// (layer, head). A model that can also expose every intermediate of one layer's attention
/// (X, projections, Q/K/V, scores, Z, W^O) returns them from ``steps(layer:)`` and
/// `attend explain` then walks through them step by step.
///
/// Layer and head indices are 0-based here; the CLI prints and accepts them 1-based.
///
/// To plug in a new model (TinyLLM, a BERT encoder): write a type conforming to this protocol
/// and an ``AttentionSourceLoader`` that recognises its model folder, and add the loader to
/// the CLI's list (`attendModelLoaders`).
public protocol AttentionSource: Sendable {
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
    /// The model's context in tokens (texts longer than this are refused or cut).
    var contextLength: Int { get }
    /// Every intermediate of one layer's attention, when the model can provide them.
    func steps(layer: Int) -> AttentionSteps?
    /// Knockout effects for `attend view`'s attribution panel, when the model can run them:
    /// `[focus][key]`, the change of the focus token's output with the edge focus→key removed
    /// in every layer and head (see `attend attribute`), measured as ``knockoutMeasure`` says.
    /// `nil` (the default) shows weights and rollout only.
    func knockoutEffects() -> [[Float]]?
    /// How ``knockoutEffects()`` measures a change, e.g. "1 − cos of the last hidden state".
    var knockoutMeasure: String { get }
    /// For byte-level models: the bytes themselves, so views can show each multi-byte
    /// character once over its bytes (``TextSegmentation/characterRows(_:)``). nil by default.
    var byteText: [UInt8]? { get }
}

extension AttentionSource {
    public var notes: [String] { [] }
    public var wordGrouping: WordGrouping? { nil }
    public func steps(layer: Int) -> AttentionSteps? { nil }
    public func knockoutEffects() -> [[Float]]? { nil }
    public var knockoutMeasure: String { "" }
    public var byteText: [UInt8]? { nil }

    /// Every weight matrix, `[layer][head]`, each `[T, T]`.
    public func allWeights() -> [[Tensor]] {
        (0..<layerCount).map { layer in (0..<headCount).map { head in weights(layer: layer, head: head) } }
    }
}

/// Reads a model folder and runs the model on a text. One loader per model family.
public protocol AttentionSourceLoader: Sendable {
    /// A name for messages, e.g. "TinyLLM".
    var name: String { get }
    /// Whether `directory` looks like this family's model folder (cheap: file names only).
    func recognizes(directory: String) -> Bool
    /// Loads the model and runs it on `bytes`. Throws ``VizError`` for bad folders or text.
    func load(directory: String, bytes: [UInt8], truncate: Bool) throws -> any AttentionSource
}

/// Which word each token belongs to, for aggregating token attention to words.
public struct WordGrouping: Sendable, Equatable {
    /// `wordOfToken[t]` is the index into `words`, or `nil` for a separator token (a space).
    public var wordOfToken: [Int?]
    public var words: [String]

    public init(wordOfToken: [Int?], words: [String]) {
        let bad = wordOfToken.firstIndex { $0.map { $0 < 0 || $0 >= words.count } ?? false }
        checkPrecondition(bad == nil,
            "WordGrouping: wordOfToken[\(bad ?? 0)] = \(bad.flatMap { wordOfToken[$0] } ?? 0) is outside 0..<\(words.count) (words.count)")
        self.wordOfToken = wordOfToken
        self.words = words
    }

    /// The grouping of a byte string's bytes into the words of ``TextSegmentation/words(_:)``.
    ///
    /// Separator bytes (spaces, newlines) count with the word after them, as in GPT-2's byte
    /// tokens ("Ġcat"), or with the last word at the end of the text; so no attention is lost:
    /// byte-level models often put most of a head's weight on the spaces.
    public init(bytes: [UInt8]) {
        var wordOfToken = TextSegmentation.wordIndexOfEachByte(bytes)
        var next: Int? = nil
        for index in wordOfToken.indices.reversed() {
            if let word = wordOfToken[index] { next = word } else { wordOfToken[index] = next }
        }
        let last = wordOfToken.last { $0 != nil } ?? nil
        for index in wordOfToken.indices where wordOfToken[index] == nil { wordOfToken[index] = last }
        self.init(wordOfToken: wordOfToken, words: TextSegmentation.words(bytes).map(\.label))
    }
}
