import Attention

/// A BERT encoder (Devlin et al., 2019), the architecture of all-MiniLM-L6-v2 and most
/// sentence-embedding models, forward only.
///
/// ```
/// x₀ = LayerNorm(word[tᵢ] + position[i] + tokenType[0])                 // embeddings
/// for each layer:
///     a = LayerNorm(x + Wₒ · MultiHeadAttention(x) + bₒ)                 // attention block
///     x = LayerNorm(a + W₂ · GELU(W₁ · a + b₁) + b₂)                     // feed-forward block
/// ```
/// with post-layer normalisation (the residual is added *before* LayerNorm, as in BERT) and
/// per-head attention `softmax(QKᵀ/√d)·V` over the sequence's real tokens only.
///
/// Parameters carry the Hugging Face checkpoint names (`encoder.layer.0.attention.self.query.weight`).
public struct BertModel: ParameterContainer, Sendable {
    public let configuration: BertConfiguration
    public var embeddings: BertEmbeddings
    public var layers: [BertLayer]

    public init(configuration: BertConfiguration, embeddings: BertEmbeddings, layers: [BertLayer]) {
        checkPrecondition(layers.count == configuration.layerCount,
            "BertModel: \(layers.count) layers for a configuration with \(configuration.layerCount)")
        self.configuration = configuration
        self.embeddings = embeddings
        self.layers = layers
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try embeddings.visitParameters(prefix: Self.join(prefix, "embeddings"), body)
        for index in layers.indices {
            try layers[index].visitParameters(prefix: Self.join(prefix, "encoder.layer.\(index)"), body)
        }
    }
}

/// Word, position and token-type embeddings, summed and layer-normalised.
public struct BertEmbeddings: ParameterContainer, Sendable {
    public var words: Embedding
    public var positions: Embedding
    public var tokenTypes: Embedding
    public var norm: LayerNorm

    public init(words: Embedding, positions: Embedding, tokenTypes: Embedding, norm: LayerNorm) {
        self.words = words; self.positions = positions; self.tokenTypes = tokenTypes; self.norm = norm
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try words.visitParameters(prefix: Self.join(prefix, "word_embeddings"), body)
        try positions.visitParameters(prefix: Self.join(prefix, "position_embeddings"), body)
        try tokenTypes.visitParameters(prefix: Self.join(prefix, "token_type_embeddings"), body)
        try norm.visitParameters(prefix: Self.join(prefix, "LayerNorm"), body)
    }
}

/// One post-norm transformer layer: self-attention block, then feed-forward block.
public struct BertLayer: ParameterContainer, Sendable {
    /// The attention projections, `[H, H]` weights each.
    public internal(set) var query: Linear, key: Linear, value: Linear
    /// `query`, `key` and `value` stacked into one `[3H, H]` projection, so the forward pass
    /// reads the activations once and runs one larger GEMM instead of three. Rebuilt
    /// whenever the three change (they can only change through `visitParameters`).
    var queryKeyValue: Linear
    /// Projects the concatenated heads back to the hidden size.
    public var attentionOutput: Linear
    public var attentionNorm: LayerNorm
    /// hidden → intermediate (`W₁`).
    public var intermediate: Linear
    /// intermediate → hidden (`W₂`).
    public var output: Linear
    public var outputNorm: LayerNorm

    public init(
        query: Linear, key: Linear, value: Linear, attentionOutput: Linear, attentionNorm: LayerNorm,
        intermediate: Linear, output: Linear, outputNorm: LayerNorm
    ) {
        self.query = query; self.key = key; self.value = value
        self.queryKeyValue = Self.stacked(query, key, value)
        self.attentionOutput = attentionOutput; self.attentionNorm = attentionNorm
        self.intermediate = intermediate; self.output = output; self.outputNorm = outputNorm
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try query.visitParameters(prefix: Self.join(prefix, "attention.self.query"), body)
        try key.visitParameters(prefix: Self.join(prefix, "attention.self.key"), body)
        try value.visitParameters(prefix: Self.join(prefix, "attention.self.value"), body)
        queryKeyValue = Self.stacked(query, key, value)
        try attentionOutput.visitParameters(prefix: Self.join(prefix, "attention.output.dense"), body)
        try attentionNorm.visitParameters(prefix: Self.join(prefix, "attention.output.LayerNorm"), body)
        try intermediate.visitParameters(prefix: Self.join(prefix, "intermediate.dense"), body)
        try output.visitParameters(prefix: Self.join(prefix, "output.dense"), body)
        try outputNorm.visitParameters(prefix: Self.join(prefix, "output.LayerNorm"), body)
    }

    static func stacked(_ query: Linear, _ key: Linear, _ value: Linear) -> Linear {
        Linear(
            weight: Tensor.concatenated([query.weight, key.weight, value.weight], axis: 0),
            bias: Tensor.concatenated([query.bias ?? .zeros([query.outputSize]), key.bias ?? .zeros([key.outputSize]),
                                       value.bias ?? .zeros([value.outputSize])], axis: 0))
    }
}
