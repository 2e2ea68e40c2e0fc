import Attention

/// The shape of a byte-level GPT: every byte value 0–255 is a token.
///
/// ```
/// h₀ = E[token] + P[position]              (E: [256, width], P: [contextLength, width])
/// hₗ = hₗ₋₁ + Attn(LN(hₗ₋₁));  hₗ = hₗ + MLP(LN(hₗ))     (pre-LN, causal, `layers` times)
/// logits = LN(h_L) · Eᵀ                    (the output head is tied to the embedding)
/// ```
///
/// A plain value: it is stored as JSON in every checkpoint's metadata, so a checkpoint knows
/// the model it holds. Use a named preset (``preset(named:)``) or build one field by field.
public struct TinyLLMConfiguration: Codable, Sendable, Equatable {
    /// How positions enter the model.
    public enum Positions: String, Codable, Sendable {
        /// A learned table `P` `[contextLength, width]` added to the token embeddings (GPT-2).
        case learned
        /// Rotary embeddings applied to queries and keys in every layer (no position table).
        case rotary
    }

    /// The number of token ids: 256, one per byte value.
    public var vocabularySize: Int = 256
    /// `L`, the number of Transformer blocks.
    public var layers: Int
    /// `Hq`, attention heads per block.
    public var heads: Int
    /// `Hkv`, key/value heads (divides `heads`; equal is multi-head, fewer is grouped-query).
    public var keyValueHeads: Int
    /// `d`, the model width (embedding size).
    public var width: Int
    /// The hidden width of each MLP (GPT-2: `4·width`).
    public var hiddenSize: Int
    /// The longest sequence the model attends over; generation slides beyond it.
    public var contextLength: Int
    /// Learned positions (default) or RoPE.
    public var positions: Positions
    /// Residual and embedding dropout probability in training (0 disables it).
    public var dropout: Float

    public init(
        layers: Int, heads: Int, keyValueHeads: Int? = nil, width: Int, hiddenSize: Int? = nil,
        contextLength: Int, positions: Positions = .learned, dropout: Float = 0
    ) {
        self.layers = layers; self.heads = heads; self.keyValueHeads = keyValueHeads ?? heads
        self.width = width; self.hiddenSize = hiddenSize ?? 4 * width
        self.contextLength = contextLength; self.positions = positions; self.dropout = dropout
    }

    /// `D`, the width of one attention head.
    public var headDimension: Int { width / heads }

    /// The number of scalar parameters (the tied head adds none).
    public var parameterCount: Int {
        let d = width, kv = keyValueHeads * headDimension
        let attention = (d * d + d) * 2 + (d * kv + kv) * 2
        let mlp = (d * hiddenSize + hiddenSize) + (hiddenSize * d + d)
        let block = attention + mlp + 4 * d
        let positionTable = positions == .learned ? contextLength * d : 0
        return vocabularySize * d + positionTable + layers * block + 2 * d
    }

    /// Checks a configuration that came from outside (a checkpoint, the command line).
    /// - Throws: ``TinyLLMError/invalidConfiguration(_:)`` naming the offending field.
    public func validate() throws {
        func fail(_ message: String) -> TinyLLMError { .invalidConfiguration(message) }
        guard vocabularySize == 256 else { throw fail("vocabularySize must be 256 (bytes), got \(vocabularySize)") }
        guard layers >= 1, layers <= 256 else { throw fail("layers must be in 1...256, got \(layers)") }
        guard heads >= 1, width >= 1, hiddenSize >= 1 else {
            throw fail("heads (\(heads)), width (\(width)) and hiddenSize (\(hiddenSize)) must be ≥ 1")
        }
        guard width % heads == 0 else { throw fail("width \(width) must be a multiple of heads \(heads)") }
        guard keyValueHeads >= 1, heads % keyValueHeads == 0 else {
            throw fail("heads \(heads) must be a multiple of keyValueHeads \(keyValueHeads)")
        }
        guard contextLength >= 1, contextLength <= 1 << 20 else {
            throw fail("contextLength must be in 1...\(1 << 20), got \(contextLength)")
        }
        guard positions == .learned || headDimension % 2 == 0 else {
            throw fail("rotary positions need an even head dimension, got \(headDimension)")
        }
        guard dropout >= 0, dropout < 1 else { throw fail("dropout must be in [0, 1), got \(dropout)") }
        guard width <= 1 << 16, hiddenSize <= 1 << 18, parameterCount < 1 << 31 else {
            throw fail("model too large (\(parameterCount) parameters)")
        }
    }
}

extension TinyLLMConfiguration {
    /// For tests: 2 layers, 2 heads, width 32, context 16 (about 30 k parameters).
    public static let tiny = TinyLLMConfiguration(layers: 2, heads: 2, width: 32, contextLength: 16)

    /// nanoGPT's CPU configuration: 4 layers, 4 heads, width 128, context 64 (0.83 M parameters).
    public static let baby = TinyLLMConfiguration(layers: 4, heads: 4, width: 128, contextLength: 64)

    /// The bundled model: 4 layers, 6 heads, width 192, context 128 (1.85 M parameters).
    ///
    /// Why this size (measured on the 2-core development machine, see docs/notes/tinyllm.md):
    /// training cost per byte grows with parameters and context, and in a budget of under an
    /// hour the bytes seen matter as much as capacity. 1.5× baby's width and twice its context
    /// (a line of verse and then some) cost about 3× baby's time per byte; six layers at this
    /// width would cost about 5× and see too few bytes in the budget to pay off.
    public static let `default` = TinyLLMConfiguration(layers: 4, heads: 6, width: 192, contextLength: 128)

    /// Every named preset, in the order `--help` lists them.
    public static let presets: [(name: String, configuration: TinyLLMConfiguration)] = [
        ("tiny", .tiny), ("baby", .baby), ("default", .default),
    ]

    /// The preset called `name`.
    /// - Throws: ``TinyLLMError/unknownPreset(_:known:)``.
    public static func preset(named name: String) throws -> TinyLLMConfiguration {
        guard let match = presets.first(where: { $0.name == name }) else {
            throw TinyLLMError.unknownPreset(name, known: presets.map(\.name))
        }
        return match.configuration
    }
}
