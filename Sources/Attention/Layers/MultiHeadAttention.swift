/// Multi-head attention with grouped-query heads, cross-attention, RoPE/ALiBi and a KV cache.
///
/// Dimensions: `B` batch, `L` query length, `Lc` context length, `d` ``modelSize``,
/// `dc` ``contextSize``, `Hq` ``heads``, `Hkv` ``keyValueHeads``, `D` ``headDimension``.
///
///     Q = x·W_Qᵀ  → [B, Hq,  L,  D]          (wq: d  → Hq·D)
///     K = c·W_Kᵀ  → [B, Hkv, Lc, D]          (wk: dc → Hkv·D; c = x for self-attention)
///     V = c·W_Vᵀ  → [B, Hkv, Lc, D]          (wv: dc → Hkv·D)
///     headₕ = softmax(Qₕ·K_gᵀ/√D + mask) · V_g,   g = h / (Hq/Hkv)
///     out = concat(head₁ … head_Hq) · W_Oᵀ  → [B, L, d]   (wo: Hq·D → d)
///
/// `Hkv == Hq` is classic multi-head attention, `1 < Hkv < Hq` grouped-query (Llama 2/3,
/// Mistral), `Hkv == 1` multi-query (PaLM). The kernel reads each key/value head for all of
/// its query heads; keys and values are never repeated in memory.
///
/// ```swift
/// var generator = SeededGenerator(seed: 1)
/// let attention = MultiHeadAttention(modelSize: 64, heads: 8, keyValueHeads: 2, generator: &generator)
/// let y = attention(x, mask: .causal)          // x, y: [B, L, 64]
/// ```
///
/// Checkpoint names: `wq.weight`, `wq.bias`, `wk.…`, `wv.…`, `wo.…` under the layer's prefix.
public struct MultiHeadAttention: ParameterContainer, Sendable {
    /// W_Q, `[Hq·D, modelSize]`.
    public var wq: Linear
    /// W_K, `[Hkv·D, contextSize]`.
    public var wk: Linear
    /// W_V, `[Hkv·D, contextSize]`.
    public var wv: Linear
    /// W^O, the output projection applied after concatenating the heads, `[modelSize, Hq·D]`.
    public var wo: Linear
    /// `Hq`, the number of query heads.
    public let heads: Int
    /// `Hkv`, the number of key/value heads (divides `heads`).
    public let keyValueHeads: Int
    /// Position information applied inside attention (self-attention only).
    public var positionalEncoding: AttentionPositionalEncoding
    /// Multiplies `Q·Kᵀ`; `nil` means `1/√D`.
    public var scale: Float?
    /// Which attention kernel to use.
    public var implementation: AttentionImplementation

    /// `d`, the width of the input and output.
    public var modelSize: Int { wq.inputSize }
    /// `dc`, the width of a cross-attention context (equals `modelSize` for self-attention).
    public var contextSize: Int { wk.inputSize }
    /// `D`, the width of one head.
    public var headDimension: Int { wq.outputSize / heads }
    /// Query heads per key/value head.
    public var groupSize: Int { heads / keyValueHeads }

    /// A randomly initialised layer: weights `N(0, std²)`, biases zero.
    ///
    /// - Parameters:
    ///   - modelSize: `d`, the width of the input and output.
    ///   - heads: `Hq`, the number of query heads.
    ///   - keyValueHeads: `Hkv`; `nil` means `heads` (multi-head), 1 is multi-query.
    ///   - headDimension: `D`; `nil` means `modelSize / heads`.
    ///   - contextSize: width of the cross-attention context; `nil` means `modelSize`.
    ///   - bias: whether the four projections have biases.
    ///   - positionalEncoding: RoPE, ALiBi or none, applied inside attention.
    ///   - standardDeviation: std of the random weights (0.02, GPT-2's).
    ///   - outputStandardDeviation: std of W^O (GPT-2 scales it by `1/√(2·layers)`); `nil`
    ///     means `standardDeviation`.
    ///   - generator: the random stream the weights are drawn from.
    public init(
        modelSize: Int, heads: Int, keyValueHeads: Int? = nil, headDimension: Int? = nil,
        contextSize: Int? = nil, bias: Bool = true,
        positionalEncoding: AttentionPositionalEncoding = .none,
        standardDeviation: Float = 0.02, outputStandardDeviation: Float? = nil,
        generator: inout SeededGenerator
    ) {
        let hkv = keyValueHeads ?? heads
        checkPrecondition(modelSize > 0 && heads > 0 && hkv > 0,
            "MultiHeadAttention: modelSize \(modelSize), heads \(heads) and keyValueHeads \(hkv) must be positive")
        checkPrecondition(heads % hkv == 0, "MultiHeadAttention: heads \(heads) must be a multiple of keyValueHeads \(hkv)")
        checkPrecondition(headDimension != nil || modelSize % heads == 0,
            "MultiHeadAttention: modelSize \(modelSize) is not divisible by heads \(heads); pass headDimension")
        let d = headDimension ?? modelSize / heads
        let dc = contextSize ?? modelSize
        let wq = Linear(inputSize: modelSize, outputSize: heads * d, bias: bias, standardDeviation: standardDeviation, generator: &generator)
        let wk = Linear(inputSize: dc, outputSize: hkv * d, bias: bias, standardDeviation: standardDeviation, generator: &generator)
        let wv = Linear(inputSize: dc, outputSize: hkv * d, bias: bias, standardDeviation: standardDeviation, generator: &generator)
        let wo = Linear(inputSize: heads * d, outputSize: modelSize, bias: bias,
                        standardDeviation: outputStandardDeviation ?? standardDeviation, generator: &generator)
        self.init(wq: wq, wk: wk, wv: wv, wo: wo, heads: heads, keyValueHeads: hkv, positionalEncoding: positionalEncoding)
    }

    /// Wraps existing projections (e.g. loaded from a checkpoint).
    /// - Precondition: the projections' shapes agree with `heads` and `keyValueHeads`.
    public init(
        wq: Linear, wk: Linear, wv: Linear, wo: Linear, heads: Int, keyValueHeads: Int? = nil,
        positionalEncoding: AttentionPositionalEncoding = .none,
        scale: Float? = nil, implementation: AttentionImplementation = .automatic
    ) {
        let hkv = keyValueHeads ?? heads
        checkPrecondition(heads > 0 && hkv > 0 && heads % hkv == 0,
            "MultiHeadAttention: heads \(heads) must be a positive multiple of keyValueHeads \(hkv)")
        checkPrecondition(wq.outputSize % heads == 0,
            "MultiHeadAttention: wq weight \(wq.weight.shape) has \(wq.outputSize) outputs, not a multiple of heads \(heads)")
        let d = wq.outputSize / heads
        checkPrecondition(wk.outputSize == hkv * d && wv.outputSize == hkv * d,
            "MultiHeadAttention: wk weight \(wk.weight.shape) and wv weight \(wv.weight.shape) must have keyValueHeads·headDimension = \(hkv)·\(d) outputs (wq \(wq.weight.shape))")
        checkPrecondition(wk.inputSize == wv.inputSize,
            "MultiHeadAttention: wk weight \(wk.weight.shape) and wv weight \(wv.weight.shape) read different context widths")
        checkPrecondition(wo.inputSize == heads * d && wo.outputSize == wq.inputSize,
            "MultiHeadAttention: wo weight \(wo.weight.shape) must be [\(wq.inputSize), \(heads * d)] (wq \(wq.weight.shape))")
        if case .rotary(let rope) = positionalEncoding {
            checkPrecondition(rope.headDimension == d,
                "MultiHeadAttention: rotary headDimension \(rope.headDimension) differs from the layer's headDimension \(d)")
        }
        self.wq = wq; self.wk = wk; self.wv = wv; self.wo = wo
        self.heads = heads; self.keyValueHeads = hkv
        self.positionalEncoding = positionalEncoding
        self.scale = scale; self.implementation = implementation
    }

    public mutating func visitParameters(prefix: String, _ body: (String, inout Tensor) throws -> Void) rethrows {
        try wq.visitParameters(prefix: Self.join(prefix, "wq"), body)
        try wk.visitParameters(prefix: Self.join(prefix, "wk"), body)
        try wv.visitParameters(prefix: Self.join(prefix, "wv"), body)
        try wo.visitParameters(prefix: Self.join(prefix, "wo"), body)
    }

    /// An empty cache sized for this layer.
    public func makeCache(batch: Int, capacity: Int) -> KeyValueCache {
        KeyValueCache(batch: batch, keyValueHeads: keyValueHeads, headDimension: headDimension, capacity: capacity)
    }
}

// MARK: - Forward

extension MultiHeadAttention {
    /// Self-attention: `x` `[B, L, modelSize]` → `[B, L, modelSize]`.
    ///
    /// - Parameters:
    ///   - x: `[B, L, modelSize]`.
    ///   - mask: see ``AttentionMask``; `.causal` for a decoder.
    ///   - positionOffset: the position of `x`'s first token, for RoPE (0 for a whole sequence).
    public func callAsFunction(_ x: Tensor, mask: AttentionMask = .none, positionOffset: Int = 0) -> Tensor {
        checkInput(x, name: "x", width: modelSize)
        let (q, k, v) = project(x, context: nil, positionOffset: positionOffset)
        return outputProjection(attend(queries: q, keys: k, values: v, mask: mask, selfAttention: true))
    }

    /// Cross-attention: queries from `x` `[B, L, modelSize]`, keys and values from `context`
    /// `[B, Lc, contextSize]` (e.g. an encoder's output); returns `[B, L, modelSize]`.
    /// `.causal` would align bottom-right as everywhere; usually `.none` or `.keyPadding`.
    /// RoPE and ALiBi are not applied (the two sequences share no positions).
    public func callAsFunction(_ x: Tensor, context: Tensor, mask: AttentionMask = .none) -> Tensor {
        checkInput(x, name: "x", width: modelSize)
        checkInput(context, name: "context", width: contextSize)
        checkPrecondition(context.shape[0] == x.shape[0],
            "MultiHeadAttention: context batch \(context.shape[0]) differs from x batch \(x.shape[0]) (context \(context.shape), x \(x.shape))")
        let (q, k, v) = project(x, context: context, positionOffset: 0)
        return outputProjection(attend(queries: q, keys: k, values: v, mask: mask, selfAttention: false))
    }

    /// Splits the last axis into heads: `[B, L, H·D]` → `[B, H, L, D]`.
    public static func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
        checkPrecondition(x.rank == 3 && x.shape[2] % heads == 0,
            "MultiHeadAttention.splitHeads: shape \(x.shape) must be [B, L, H·D] with H = \(heads)")
        return x.reshaped([x.shape[0], x.shape[1], heads, x.shape[2] / heads]).permuted([0, 2, 1, 3])
    }

    /// Concatenates heads: `[B, H, L, D]` → `[B, L, H·D]` (head `h` at columns `h·D..<(h+1)·D`).
    public static func mergeHeads(_ x: Tensor) -> Tensor {
        checkPrecondition(x.rank == 4, "MultiHeadAttention.mergeHeads: shape \(x.shape) must be [B, H, L, D]")
        let (b, h, l, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return x.permuted([0, 2, 1, 3]).reshaped([b, l, h * d])
    }

    /// Projected heads: queries `[B, Hq, L, D]`, keys and values `[B, Hkv, Lc, D]`, with RoPE
    /// applied to queries and keys (self-attention only) at `positionOffset`.
    func project(_ x: Tensor, context: Tensor?, positionOffset: Int, rotates: Bool = true) -> (Tensor, Tensor, Tensor) {
        var q = Self.splitHeads(wq(x), heads: heads)
        let source = context ?? x
        var k = Self.splitHeads(wk(source), heads: keyValueHeads)
        let v = Self.splitHeads(wv(source), heads: keyValueHeads)
        if rotates, context == nil, case .rotary(let rope) = positionalEncoding {
            q = rope(q, startPosition: positionOffset)
            k = rope(k, startPosition: positionOffset)
        }
        return (q, k, v)
    }

    /// ALiBi slopes for this layer's query heads, or nil.
    var alibiSlopesIfAny: [Float]? {
        if case .alibi = positionalEncoding { return alibiSlopes(heads: heads) }
        return nil
    }

    /// The engine call, `[B, Hq, Lq, D]`.
    func attend(queries: Tensor, keys: Tensor, values: Tensor, mask: AttentionMask, selfAttention: Bool) -> Tensor {
        scaledDotProductAttention(
            queries: queries, keys: keys, values: values, scale: scale, mask: mask,
            alibiSlopes: selfAttention ? alibiSlopesIfAny : nil, implementation: implementation)
    }

    /// `concat(heads)·W_Oᵀ`: `[B, Hq, L, D]` → `[B, L, modelSize]`.
    func outputProjection(_ heads: Tensor) -> Tensor {
        wo(Self.mergeHeads(heads))
    }

    func checkInput(_ x: Tensor, name: String, width: Int) {
        checkPrecondition(x.rank == 3 && x.shape[2] == width,
            "MultiHeadAttention: \(name) shape \(x.shape) must be [B, L, \(width)] (wq \(wq.weight.shape), wk \(wk.weight.shape))")
    }
}
