import Attention

/// A byte-level GPT decoder (see ``TinyLLMConfiguration`` for the equations).
///
/// Dimensions: `B` batch, `L` sequence length (≤ `contextLength`), `d` width, `V` = 256.
///
/// Checkpoint names (the order of ``visitParameters(prefix:_:)``):
/// `embedding.weight` `[V, d]` (also the output head), `positions.weight` `[contextLength, d]`
/// (learned positions only), `blocks.<i>.norm1.*`, `blocks.<i>.attention.{wq,wk,wv,wo}.*`,
/// `blocks.<i>.norm2.*`, `blocks.<i>.feedForward.{up,down}.*`, `finalNorm.{weight,bias}`.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// let model = TinyLLMModel(configuration: .baby, generator: &generator)
/// let logits = model.logits(tokens: [Array("ROMEO:".utf8).map(Int.init)])   // [1, 6, 256]
/// ```
public struct TinyLLMModel: ParameterContainer, Sendable {
    public let configuration: TinyLLMConfiguration
    /// `E`, `[256, d]`: token embeddings, and (transposed) the output head.
    public var embedding: Embedding
    /// `P`, `[contextLength, d]`, or nil with rotary positions.
    public var positions: LearnedPositionalEmbedding?
    public var blocks: [TransformerBlock]
    public var finalNorm: LayerNorm
    /// `E` rounded to bfloat16 for the output head, after ``converted(to:)`` with
    /// ``Precision/bfloat16`` (used only while it still matches `embedding.weight`).
    var headBFloat16: BFloat16Weights?

    /// A freshly initialised model, GPT-2 style: weights `N(0, 0.02²)`, the residual output
    /// projections (`wo`, `feedForward.down`) `N(0, (0.02/√(2·layers))²)` so the residual
    /// stream's variance does not grow with depth; biases 0, norm gains 1.
    /// - Precondition: the configuration is valid (``TinyLLMConfiguration/validate()``).
    public init(configuration: TinyLLMConfiguration, generator: inout SeededGenerator) {
        checkConfiguration(configuration)
        let c = configuration
        let outputStandardDeviation = 0.02 / Float(2 * c.layers).squareRoot()
        let encoding: AttentionPositionalEncoding = c.positions == .rotary ? .rotary(headDimension: c.headDimension) : .none
        embedding = Embedding(vocabularySize: c.vocabularySize, size: c.width, generator: &generator)
        positions = c.positions == .learned
            ? LearnedPositionalEmbedding(maximumLength: c.contextLength, size: c.width, standardDeviation: 0.02, generator: &generator)
            : nil
        blocks = (0..<c.layers).map { _ in
            TransformerBlock(
                modelSize: c.width, heads: c.heads, keyValueHeads: c.keyValueHeads, hiddenSize: c.hiddenSize,
                positionalEncoding: encoding, activation: .tanh, placement: .preNorm,
                outputStandardDeviation: outputStandardDeviation, generator: &generator)
        }
        finalNorm = LayerNorm(size: c.width)
        self.configuration = c
    }

    /// A model whose parameters are then overwritten (by a checkpoint loader).
    init(zeroedFor configuration: TinyLLMConfiguration) {
        var generator = SeededGenerator.placeholder   // zeros where the initialiser would sample
        self.init(configuration: configuration, generator: &generator)
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try embedding.visitParameters(prefix: Self.join(prefix, "embedding"), body)
        try positions?.visitParameters(prefix: Self.join(prefix, "positions"), body)
        for i in blocks.indices { try blocks[i].visitParameters(prefix: Self.join(prefix, "blocks.\(i)"), body) }
        try finalNorm.visitParameters(prefix: Self.join(prefix, "finalNorm"), body)
    }
}

// MARK: - Inference forward

extension TinyLLMModel {
    /// Next-byte logits for every position: `tokens` is `B` rows of equal length `L ≤
    /// contextLength` (ids 0–255) → `[B, L, 256]`. Row `t` predicts the byte after `tokens[t]`.
    public func logits(tokens: [[Int]]) -> Tensor {
        let (b, l) = checkTokens(tokens)
        var x = embedding(tokens.flatMap { $0 }).reshaped([b, l, configuration.width])
        if let positions { x = positions(x, startPosition: 0) }
        for block in blocks { x = block(x, mask: .causal) }
        return head(finalNorm(x))
    }

    /// `LN(h) · Eᵀ`: `[..., d]` → `[..., 256]` (with `E` in BF16 after ``converted(to:)``).
    func head(_ x: Tensor) -> Tensor {
        let d = configuration.width
        let rows = x.count / d
        let flat = x.reshaped([rows, d])
        let logits: Tensor
        if let headBFloat16, headBFloat16.isRounded(from: embedding.weight) {
            logits = headBFloat16.product(flat)
        } else {
            logits = flat.matmul(embedding.weight, transposingOther: true)
        }
        return logits.reshaped(Array(x.shape.dropLast()) + [configuration.vocabularySize])
    }

    /// This model with every weight product of inference (the attention projections, the
    /// feed-forward layers and the output head `Eᵀ`) in `precision` (see ``Precision``). The
    /// embedding look-up, positions, norms, attention and GELU stay FP32, and so does training:
    /// the FP32 weights are kept, a checkpoint saved from the converted model is the FP32 one.
    ///
    /// ```swift
    /// let fast = model.converted(to: .bfloat16)
    /// let loss = fast.averageLoss(on: validationBytes)
    /// ```
    public func converted(to precision: Precision) -> TinyLLMModel {
        var copy = self
        copy.blocks = blocks.map { $0.converted(to: precision) }
        switch precision {
        case .float32: copy.headBFloat16 = nil
        case .bfloat16: copy.headBFloat16 = BFloat16Weights(embedding.weight)
        }
        return copy
    }

    /// ``Precision/bfloat16`` when the head and every projection multiply in BF16.
    public var precision: Precision {
        let head = headBFloat16?.isRounded(from: embedding.weight) ?? false
        let projections = blocks.allSatisfy { b in
            [b.attention.wq, b.attention.wk, b.attention.wv, b.attention.wo, b.feedForward.up, b.feedForward.down]
                .allSatisfy { $0.precision == .bfloat16 }
        }
        return head && projections ? .bfloat16 : .float32
    }

    /// `(B, L)` after checking every row has the same length `1...contextLength` and ids 0–255.
    func checkTokens(_ tokens: [[Int]]) -> (Int, Int) {
        let l = tokens.first?.count ?? 0
        checkPrecondition(!tokens.isEmpty && l >= 1 && l <= configuration.contextLength
                && tokens.allSatisfy { $0.count == l },
            "TinyLLMModel: tokens must be B ≥ 1 rows of one length in 1...\(configuration.contextLength), got lengths \(tokens.map(\.count).prefix(8))")
        checkPrecondition(tokens.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 < configuration.vocabularySize } },
            "TinyLLMModel: token ids must be in 0..<\(configuration.vocabularySize)")
        return (tokens.count, l)
    }
}

/// Stops with the validation message: a programmer error inside the process (outside input
/// goes through ``TinyLLMConfiguration/validate()`` and throws).
func checkConfiguration(_ configuration: TinyLLMConfiguration) {
    do { try configuration.validate() } catch {
        fatalError("TinyLLMModel: \(error)")   // a message in every build configuration
    }
}
