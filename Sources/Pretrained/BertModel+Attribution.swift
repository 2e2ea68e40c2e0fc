import Attention

extension SentenceEncoder {
    /// What each token and head of one tokenised text contributes at `focus` (`attend attribute`).
    ///
    /// `T = ids.count` tokens, `N` layers, `H` heads, `h_N[i]` the last layer's hidden state
    /// of token `i` (before pooling), `e` the pooled (normalised) sentence embedding:
    /// - weights: every layer's softmax weights, the same numbers as ``attentionMaps(_:)``;
    /// - knockout `[T]`: `1 − cos(h_N[focus], h̃_N[focus])` where `h̃` is the run with the edge
    ///   focus→j forbidden in every layer and head (a boolean mask per batch row; every
    ///   other edge kept). All `T` knockouts and an unmodified baseline run as one batch of
    ///   `T + 1` copies of the sequence (split into batches of ≤ 16 384 tokens for long texts).
    /// - head ablation `[N][H]`: `1 − cos(e, ẽ)` where `ẽ` is the run with head `h` of layer
    ///   `l` contributing a zero context vector before `W^O` (its bias stays). The layers below
    ///   `l` are unchanged, so layer `l`'s `H` ablations run as one batch starting from the
    ///   baseline's input to layer `l`.
    ///
    /// - Precondition: `ids` is non-empty and fits the model; `focus` indexes it.
    public func attribution(tokenIDs ids: [Int], focus: Int) -> AttributionEffects {
        let c = model.configuration, t = ids.count
        checkPrecondition(focus >= 0 && focus < t, "SentenceEncoder.attribution: focus \(focus) outside 0..<\(t)")
        // Baseline: every layer's input and weights (the path `attentionMaps` takes).
        let (layerInputs, weights) = model.layerInputsAndWeights(ids)

        // Knockouts: copy j < T forbids focus→j, copy T is the unmodified baseline; at most
        // `knockoutBatch` copies at a time so long texts stay within memory.
        let edges: [(query: Int, key: Int)?] = (0..<t).map { (query: focus, key: $0) } + [nil]
        let knockoutBatch = max(1, 16_384 / t)
        var focusStates: [[Float]] = []
        var baseStates = Tensor.zeros([t, c.hiddenSize])
        for start in stride(from: 0, to: edges.count, by: knockoutBatch) {
            let chunk = Array(edges[start..<min(start + knockoutBatch, edges.count)])
            let states = model.forwardCopies(
                of: model.embed(Array(repeating: ids, count: chunk.count)), batch: chunk.count, length: t, fromLayer: 0,
                mask: AttentionMask.removingEdges(chunk, length: t, causal: false), headGates: { _ in nil })
            for b in chunk.indices {
                focusStates.append(Array(states.sliced(axis: 0, (b * t + focus)..<(b * t + focus + 1)).scalars))
                if chunk[b] == nil { baseStates = states.sliced(axis: 0, (b * t)..<(b * t + t)) }
            }
        }
        let knockout = (0..<t).map { cosineDistance(focusStates[t], focusStates[$0]) }

        // Head ablations, one batch per layer.
        let h = c.headCount
        let baseEmbedding = pooling.pool(baseStates)
        var ones = [Float](repeating: 1, count: h * h)
        for head in 0..<h { ones[head * h + head] = 0 }
        let gates = Tensor(shape: [h, h], scalars: ones)   // row b switches head b off
        let headAblation: [[Float]] = (0..<c.layerCount).map { l in
            let start = Tensor.concatenated(Array(repeating: layerInputs[l], count: h), axis: 0)
            let states = model.forwardCopies(of: start, batch: h, length: t, fromLayer: l, mask: .none,
                                             headGates: { $0 == l ? gates : nil })
            return (0..<h).map { b in
                cosineDistance(baseEmbedding, pooling.pool(states.sliced(axis: 0, (b * t)..<(b * t + t))))
            }
        }
        return AttributionEffects(weights: weights, knockout: knockout, headAblation: headAblation)
    }
}

extension BertModel {
    /// The input to the first layer, `LayerNorm(word + position + tokenType)`, for sequences
    /// packed one after another: `[Σ lengths, hidden]` (the start of ``forwardCopies(of:batch:length:fromLayer:mask:headGates:)``).
    public func inputEmbeddings(_ sequences: [[Int]]) -> Tensor { embed(sequences) }

    /// Runs layers `fromLayer...` on `batch` packed copies of a `length`-token sequence
    /// (`x: [batch·length, hidden]`, the input to layer `fromLayer`), with `mask` (e.g.
    /// ``AttentionMask/removingEdges(_:length:causal:)``, one row per copy) and, per layer,
    /// optional head gates `[batch, heads]`. Returns the last hidden states, packed the same way.
    public func forwardCopies(
        of x: Tensor, batch: Int, length: Int, fromLayer start: Int,
        mask: AttentionMask, headGates: (Int) -> Tensor?
    ) -> Tensor {
        checkPrecondition(x.rank == 2 && x.shape == [batch * length, configuration.hiddenSize],
            "BertModel.forwardCopies: x \(x.shape) must be [\(batch)·\(length), \(configuration.hiddenSize)]")
        checkPrecondition(start >= 0 && start <= layers.count, "BertModel.forwardCopies: fromLayer \(start) outside 0...\(layers.count)")
        var x = x
        for l in start..<layers.count {
            x = layers[l].forward(copies: x, batch: batch, length: length, configuration: configuration,
                                  mask: mask, headGates: headGates(l))
        }
        return x
    }
}

extension BertLayer {
    /// ``forward(_:lengths:offsets:configuration:returningAttention:)`` for `batch` sequences
    /// of one `length`, with an explicit attention mask and optional head gates `[batch, heads]`
    /// applied to the per-head context before the output projection.
    func forward(
        copies x: Tensor, batch: Int, length: Int, configuration c: BertConfiguration,
        mask: AttentionMask, headGates: Tensor?
    ) -> Tensor {
        let lengths = [Int](repeating: length, count: batch)
        let offsets = (0..<batch).map { $0 * length }
        let layout = PaddedHeads(lengths: lengths, offsets: offsets, longest: length, heads: c.headCount, headSize: c.headSize)
        let (q, k, v) = layout.scatterQueryKeyValue(queryKeyValue(x))
        var context = scaledDotProductAttention(queries: q, keys: k, values: v, mask: mask)
        if let headGates { context = MultiHeadAttention.gatingHeads(context, by: headGates) }
        let attended = attentionNorm(attentionOutput(layout.gather(context)) + x)
        var hidden = intermediate(attended)
        hidden.applyGELU(c.activation)
        return outputNorm(output(hidden) + attended)
    }
}

extension BertModel {
    /// One sequence through the encoder, keeping what a step-by-step explanation needs:
    /// `inputs[l]` is layer `l`'s input `[T, hidden]` (the embeddings for layer 0; BERT is
    /// post-norm, so this is exactly the X its attention reads), and `weights[l]` its softmax
    /// weights `[heads, T, T]`, the numbers ``encode(_:returningAttention:)`` returns.
    public func layerInputsAndWeights(_ ids: [Int]) -> (inputs: [Tensor], weights: [Tensor]) {
        let t = ids.count
        checkPrecondition(t >= 1 && t <= configuration.maximumPositions,
            "BertModel.layerInputsAndWeights: \(t) tokens; allowed 1...\(configuration.maximumPositions)")
        var x = embed([ids])
        var inputs: [Tensor] = [], weights: [Tensor] = []
        for layer in layers {
            inputs.append(x)
            let (next, w) = layer.forward(x, lengths: [t], offsets: [0], configuration: configuration, returningAttention: true)
            weights.append(checkNotNil(w, "BertModel.layerInputsAndWeights: a layer returned no weights with returningAttention")
                .reshaped([configuration.headCount, t, t]))
            x = next
        }
        return (inputs, weights)
    }

    /// Layer `l`'s self-attention as the engine's ``MultiHeadAttention`` (the same `W_Q`, `W_K`,
    /// `W_V`, `W^O` and biases, scale `1/√d`), for step-by-step views.
    public func attention(layer l: Int) -> MultiHeadAttention {
        let layer = layers[l]
        return MultiHeadAttention(wq: layer.query, wk: layer.key, wv: layer.value, wo: layer.attentionOutput,
                                  heads: configuration.headCount)
    }
}

extension SentenceEncoder {
    /// Every token's knockouts at once (`attend view`'s attribution panel): `matrix[f][j]` is
    /// `knockout[j]` of ``attribution(tokenIDs:focus:)`` with focus `f`, i.e.
    /// `1 − cos(h_N[f], h̃_N[f])` with the edge f→j forbidden in every layer and head. The `T²`
    /// copies run in batches of at most `batchSize`, each against one unmodified baseline.
    public func knockoutMatrix(tokenIDs ids: [Int], batchSize: Int = 128) -> [[Float]] {
        let t = ids.count
        checkPrecondition(t >= 1 && batchSize >= 1, "SentenceEncoder.knockoutMatrix: \(t) tokens, batch size \(batchSize)")
        let base = model.forwardCopies(of: model.inputEmbeddings([ids]), batch: 1, length: t, fromLayer: 0,
                                       mask: .none, headGates: { _ in nil })
        func row(_ states: Tensor, _ r: Int) -> [Float] { Array(states.sliced(axis: 0, r..<(r + 1)).scalars) }
        let pairs = (0..<t).flatMap { f in (0..<t).map { (query: f, key: $0) } }
        var matrix = [[Float]](repeating: [Float](repeating: 0, count: t), count: t)
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let chunk = Array(pairs[start..<min(start + batchSize, pairs.count)])
            let states = model.forwardCopies(
                of: model.inputEmbeddings(Array(repeating: ids, count: chunk.count)), batch: chunk.count, length: t,
                fromLayer: 0, mask: AttentionMask.removingEdges(chunk.map { Optional($0) }, length: t, causal: false), headGates: { _ in nil })
            for (b, pair) in chunk.enumerated() {
                matrix[pair.query][pair.key] = cosineDistance(row(base, pair.query), row(states, b * t + pair.query))
            }
        }
        return matrix
    }
}
