/// One Transformer block: self-attention and a feed-forward network, each with a residual
/// connection and a LayerNorm.
///
///     pre-norm  (GPT-2, Llama):  x = x + attention(norm1(x));   x = x + feedForward(norm2(x))
///     post-norm (original, BERT): x = norm1(x + attention(x));  x = norm2(x + feedForward(x))
///
/// Pre-norm keeps an identity path from input to output, which is why deep stacks train
/// without warmup tricks; post-norm is what BERT checkpoints expect.
///
/// Checkpoint names: `norm1.*`, `attention.*`, `norm2.*`, `feedForward.*`.
public struct TransformerBlock: ParameterContainer, Sendable {
    /// Where the LayerNorms sit.
    public enum NormalizationPlacement: String, Sendable, Codable {
        /// Normalise each sub-layer's input (GPT-2).
        case preNorm
        /// Normalise after each residual sum (Vaswani et al., BERT).
        case postNorm
    }

    public var norm1: LayerNorm
    public var attention: MultiHeadAttention
    public var norm2: LayerNorm
    public var feedForward: FeedForward
    public var placement: NormalizationPlacement

    public var modelSize: Int { attention.modelSize }

    /// A randomly initialised block (norms γ = 1, β = 0; projections `N(0, std²)`).
    public init(
        modelSize: Int, heads: Int, keyValueHeads: Int? = nil, hiddenSize: Int? = nil, bias: Bool = true,
        positionalEncoding: AttentionPositionalEncoding = .none, activation: GELUApproximation = .tanh,
        placement: NormalizationPlacement = .preNorm, normEpsilon: Float = 1e-5,
        standardDeviation: Float = 0.02, outputStandardDeviation: Float? = nil,
        generator: inout SeededGenerator
    ) {
        let attention = MultiHeadAttention(
            modelSize: modelSize, heads: heads, keyValueHeads: keyValueHeads, bias: bias,
            positionalEncoding: positionalEncoding, standardDeviation: standardDeviation,
            outputStandardDeviation: outputStandardDeviation, generator: &generator)
        let feedForward = FeedForward(
            size: modelSize, hiddenSize: hiddenSize, bias: bias, activation: activation,
            standardDeviation: standardDeviation, outputStandardDeviation: outputStandardDeviation, generator: &generator)
        self.init(
            norm1: LayerNorm(size: modelSize, epsilon: normEpsilon, bias: bias), attention: attention,
            norm2: LayerNorm(size: modelSize, epsilon: normEpsilon, bias: bias), feedForward: feedForward,
            placement: placement)
    }

    /// Wraps loaded sub-layers.
    public init(norm1: LayerNorm, attention: MultiHeadAttention, norm2: LayerNorm, feedForward: FeedForward,
                placement: NormalizationPlacement = .preNorm) {
        let d = attention.modelSize
        checkPrecondition(norm1.size == d && norm2.size == d && feedForward.size == d,
            "TransformerBlock: norm1 \(norm1.weight.shape), norm2 \(norm2.weight.shape) and feedForward up \(feedForward.up.weight.shape) must match attention modelSize \(d)")
        self.norm1 = norm1; self.attention = attention; self.norm2 = norm2
        self.feedForward = feedForward; self.placement = placement
    }

    /// `x` `[B, L, modelSize]` → `[B, L, modelSize]`; `mask` and `positionOffset` go to the attention.
    public func callAsFunction(_ x: Tensor, mask: AttentionMask = .none, positionOffset: Int = 0) -> Tensor {
        residual(x) { attention($0, mask: mask, positionOffset: positionOffset) }
    }

    /// Incremental decoding: new tokens `x` `[B, Lq, modelSize]` against `cache` (this block's
    /// attention cache), which grows by `Lq`.
    public func callAsFunction(
        _ x: Tensor, mask: AttentionMask = .causal, cache: inout KeyValueCache, positionOffset: Int? = nil
    ) -> Tensor {
        // The closure is non-escaping, so it may mutate the caller's cache in place (a local
        // copy would make the next append copy the whole storage).
        residual(x) { attention($0, mask: mask, cache: &cache, positionOffset: positionOffset) }
    }

    /// One ragged decoding step: `x` `[B, 1, modelSize]`, one new token per row, against a cache
    /// whose rows have different lengths; see
    /// ``MultiHeadAttention/callAsFunction(nextTokens:raggedCache:rows:)``.
    public func callAsFunction(nextTokens x: Tensor, raggedCache cache: inout KeyValueCache, rows: [Bool]? = nil) -> Tensor {
        residual(x) { attention(nextTokens: $0, raggedCache: &cache, rows: rows) }
    }

    /// The two residual sub-layers around `attend`, in this block's placement.
    func residual(_ x: Tensor, attend: (Tensor) -> Tensor) -> Tensor {
        switch placement {
        case .preNorm:
            let h = x + attend(norm1(x))
            return h + feedForward(norm2(h))
        case .postNorm:
            let h = norm1(x + attend(x))
            return norm2(h + feedForward(h))
        }
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try norm1.visitParameters(prefix: Self.join(prefix, "norm1"), body)
        try attention.visitParameters(prefix: Self.join(prefix, "attention"), body)
        try norm2.visitParameters(prefix: Self.join(prefix, "norm2"), body)
        try feedForward.visitParameters(prefix: Self.join(prefix, "feedForward"), body)
    }
}
