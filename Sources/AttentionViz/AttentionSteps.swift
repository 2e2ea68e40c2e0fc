import Attention

/// Every intermediate tensor of one layer's multi-head self-attention, in the seeds' notation
/// (row vectors, `Q = X·W_Q`; the library's `Linear` stores `W` as `[out, in]`, so
/// `W_Q = wq.weightᵀ`). `T` tokens, `d` model width, `H` heads, `d_k` head width:
///
///     Q = X·W_Q,  K = X·W_K,  V = X·W_V                  [T, H·d_k]
///     Qₕ, Kₕ, Vₕ = columns h·d_k ..< (h+1)·d_k           [T, d_k]
///     Sₕ = Qₕ·Kₕᵀ,  Ŝₕ = Sₕ / √d_k,  Aₕ = softmax(Ŝₕ)    [T, T]
///     Zₕ = Aₕ·Vₕ                                         [T, d_k]
///     concat = [Z₁ … Z_H],  output = concat·W^O          [T, d]
///
/// The weights, scores and outputs come from the engine (`MultiHeadAttention.intermediates`,
/// which calls `scaledDotProductAttention`); only the raw `Sₕ` before scaling is formed here,
/// because the engine folds the scale into its scores.
public struct AttentionSteps: Sendable {
    public var input: Tensor                 // X        [T, d]
    public var queryWeight: Tensor           // W_Q      [d, H·d_k]
    public var keyWeight: Tensor             // W_K      [d, H·d_k]
    public var valueWeight: Tensor           // W_V      [d, H·d_k]
    public var queries: Tensor               // Q        [T, H·d_k]
    public var keys: Tensor                  // K        [T, H·d_k]
    public var values: Tensor                // V        [T, H·d_k]
    public var headQueries: [Tensor]         // Qₕ       [T, d_k] per head
    public var headKeys: [Tensor]
    public var headValues: [Tensor]
    public var scores: [Tensor]              // Sₕ       [T, T]
    public var scaledScores: [Tensor]        // Ŝₕ       [T, T] (−inf where masked)
    public var weights: [Tensor]             // Aₕ       [T, T]
    public var headOutputs: [Tensor]         // Zₕ       [T, d_k]
    public var concatenated: Tensor          // [T, H·d_k]
    public var outputWeight: Tensor          // W^O      [H·d_k, d]
    public var output: Tensor                // [T, d]
    /// The factor the scores are multiplied by, `1/√d_k`.
    public var scale: Float
    /// Whether a causal mask hid later tokens (decoder models).
    public var isCausal: Bool
    /// Whether the projections add a bias (`Q = X·W_Q + b_Q`); the toy model has none.
    public var hasBias: Bool
    /// Largest |Z_fused − Z_reference| over every head: the fused kernel checked against the
    /// readable reference on this very input.
    public var fusedKernelDifference: Float

    public var headCount: Int { scores.count }
    public var headSize: Int { headQueries.first?.shape[1] ?? 0 }
    public var tokenCount: Int { input.shape[0] }
    public var modelSize: Int { input.shape[1] }

    /// Runs `layer` on `input` `[T, d]` through the engine and keeps every intermediate.
    ///
    /// - Precondition: `input` is `[T, layer.modelSize]` (programmer error otherwise).
    public init(layer: MultiHeadAttention, input: Tensor, causal: Bool = false) {
        checkPrecondition(input.rank == 2 && input.shape[1] == layer.modelSize,
            "AttentionSteps: input has shape \(input.shape), layer.modelSize is \(layer.modelSize) (want [T, \(layer.modelSize)])")
        let t = input.shape[0]
        let mask: AttentionMask = causal ? .causal : .none
        let batched = input.reshaped([1, t, layer.modelSize])
        let engine = layer.intermediates(batched, mask: mask)
        let h = layer.heads, group = layer.groupSize, dk = layer.headDimension

        func head(_ tensor: Tensor, _ index: Int) -> Tensor {   // [1, H, L, X] → [L, X]
            let rows = tensor.shape[2], columns = tensor.shape[3]
            return tensor.sliced(axis: 1, index..<(index + 1)).reshaped([rows, columns])
        }
        self.input = input
        self.queryWeight = layer.wq.weight.transposed()
        self.keyWeight = layer.wk.weight.transposed()
        self.valueWeight = layer.wv.weight.transposed()
        self.queries = MultiHeadAttention.mergeHeads(engine.queries).reshaped([t, h * dk])
        let kvHeads = layer.keyValueHeads
        self.keys = MultiHeadAttention.mergeHeads(engine.keys).reshaped([t, kvHeads * dk])
        self.values = MultiHeadAttention.mergeHeads(engine.values).reshaped([t, kvHeads * dk])
        self.headQueries = (0..<h).map { head(engine.queries, $0) }
        self.headKeys = (0..<h).map { head(engine.keys, $0 / group) }
        self.headValues = (0..<h).map { head(engine.values, $0 / group) }
        let queries = headQueries, keys = headKeys
        self.scores = (0..<h).map { queries[$0].matmul(keys[$0], transposingOther: true) }
        self.scaledScores = (0..<h).map { head(engine.scores, $0) }
        self.weights = (0..<h).map { head(engine.weights, $0) }
        self.headOutputs = (0..<h).map { head(engine.headOutputs, $0) }
        self.concatenated = engine.concatenated.reshaped([t, h * dk])
        self.outputWeight = layer.wo.weight.transposed()
        self.output = engine.output.reshaped([t, layer.modelSize])
        self.scale = layer.scale ?? 1 / Float(dk).squareRoot()
        self.isCausal = causal
        self.hasBias = layer.wq.bias != nil
        let fused = scaledDotProductAttention(
            queries: engine.queries, keys: engine.keys, values: engine.values, scale: layer.scale,
            mask: mask, implementation: .fused)
        self.fusedKernelDifference = zip(fused.scalars, engine.headOutputs.scalars)
            .reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }
}
