import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension TinyLLMModel {
    /// Every layer's causal softmax attention weights for one sequence: `[layer]` of
    /// `[heads, L, L]` (row `i` is where byte `i` looks; zeros above the diagonal).
    public func attentionWeights(tokens: [Int]) -> [Tensor] {
        let (_, l) = checkTokens([tokens])
        var x = embedding(tokens).reshaped([1, l, configuration.width])
        if let positions { x = positions(x, startPosition: 0) }
        var weights: [Tensor] = []
        for block in blocks {
            let input = block.placement == .preNorm ? block.norm1(x) : x
            weights.append(block.attention.intermediates(input, mask: .causal).weights
                .reshaped([configuration.heads, l, l]))
            x = block(x, mask: .causal)
        }
        return weights
    }

    /// Next-byte logits at position `at` for `batch` copies of `tokens`, each copy with its own
    /// row of `mask` (`[batch, 1, L, L]`, e.g. ``AttentionMask/removingEdges(_:length:causal:)``
    /// with `causal: true`) and, per layer, optional head gates `[batch, heads]`: `[batch, 256]`.
    public func logits(
        copies batch: Int, of tokens: [Int], at position: Int, mask: AttentionMask, headGates: (Int) -> Tensor?
    ) -> Tensor {
        let (_, l) = checkTokens([tokens])
        checkPrecondition(batch >= 1 && position >= 0 && position < l,
            "TinyLLMModel.logits(copies:): batch \(batch) must be ≥ 1 and position \(position) in 0..<\(l)")
        let d = configuration.width
        var x = embedding(Array([[Int]](repeating: tokens, count: batch).joined())).reshaped([batch, l, d])
        if let positions { x = positions(x, startPosition: 0) }
        for (index, block) in blocks.enumerated() {
            x = block(x, mask: mask, headGates: headGates(index))
        }
        let last = x.sliced(axis: 1, position..<(position + 1))   // [batch, 1, d]
        return head(finalNorm(last)).reshaped([batch, configuration.vocabularySize])
    }

    /// What each byte and head contributes to the prediction at `focus` (`attend attribute`).
    ///
    /// `p` is the next-byte distribution at `focus`, `p̃` the same after an intervention, and the
    /// effect is `KL(p ‖ p̃) = Σ_v p(v)·(log p(v) − log p̃(v))` in nats:
    /// - knockout `[L]`: the edge focus→j forbidden in every layer and head (the causal mask
    ///   with one more zero); `j > focus` is already masked, so its effect is 0. All `L`
    ///   knockouts and the baseline run as one batch of `L + 1` copies.
    /// - head ablation `[layers][heads]`: head `h` of layer `l` contributes a zero context
    ///   vector before `W^O` (a head gate of 0); one batch of `layers·heads` copies.
    public func attribution(tokens: [Int], focus: Int) -> AttributionEffects {
        let (_, l) = checkTokens([tokens])
        checkPrecondition(focus >= 0 && focus < l, "TinyLLMModel.attribution: focus \(focus) outside 0..<\(l)")
        let weights = attentionWeights(tokens: tokens)
        let edges: [(query: Int, key: Int)?] = (0..<l).map { (query: focus, key: $0) } + [nil]
        let knocked = logits(copies: l + 1, of: tokens, at: focus,
                             mask: AttentionMask.removingEdges(edges, length: l, causal: true), headGates: { _ in nil })
        let v = configuration.vocabularySize
        func row(_ logits: Tensor, _ b: Int) -> ArraySlice<Float> { logits.scalars[(b * v)..<((b + 1) * v)] }
        let base = row(knocked, l)
        let knockout = (0..<l).map { Float(klDivergence(logits: base, logits: row(knocked, $0))) }

        let layers = configuration.layers, heads = configuration.heads
        let rows = layers * heads
        let ablated = logits(copies: rows, of: tokens, at: focus, mask: .causal) { layer in
            var gates = [Float](repeating: 1, count: rows * heads)
            for h in 0..<heads { gates[(layer * heads + h) * heads + h] = 0 }   // row layer·H + h
            return Tensor(shape: [rows, heads], scalars: gates)
        }
        let headAblation = (0..<layers).map { layer in
            (0..<heads).map { h in Float(klDivergence(logits: base, logits: row(ablated, layer * heads + h))) }
        }
        return AttributionEffects(weights: weights, knockout: knockout, headAblation: headAblation)
    }
}

/// `KL(p ‖ q) = Σᵥ p(v)·(log p(v) − log q(v))` in nats, with `p = softmax(a)`, `q = softmax(b)`,
/// computed in Double from log-softmaxes (≥ 0; 0 iff the distributions agree).
public func klDivergence<A: Collection, B: Collection>(logits a: A, logits b: B) -> Double
where A.Element == Float, B.Element == Float {
    let x = a.map(Double.init), y = b.map(Double.init)
    checkPrecondition(x.count == y.count && !x.isEmpty, "klDivergence: logits of \(x.count) and \(y.count) values")
    func logSoftmax(_ z: [Double]) -> [Double] {
        let m = z.max() ?? 0   // never empty: checked above
        let lse = m + log(z.reduce(0) { $0 + exp($1 - m) })
        return z.map { $0 - lse }
    }
    let lp = logSoftmax(x), lq = logSoftmax(y)
    var sum = 0.0
    for i in lp.indices { sum += exp(lp[i]) * (lp[i] - lq[i]) }
    return max(0, sum)
}

extension TinyLLMModel {
    /// Every byte's knockouts at once (`attend view`'s attribution panel): `matrix[f][j]` is
    /// `KL(p_f ‖ p̃_f)` in nats with the edge f→j removed in every layer and head (0 for
    /// `j > f`, which the causal mask hides anyway). The `T(T+1)/2` copies run in batches of
    /// at most `batchSize`; the baseline is the plain causal run.
    public func knockoutMatrix(tokens: [Int], batchSize: Int = 128) -> [[Float]] {
        let (_, l) = checkTokens([tokens])
        checkPrecondition(batchSize >= 1, "TinyLLMModel.knockoutMatrix: batch size \(batchSize)")
        let v = configuration.vocabularySize, d = configuration.width
        func finalRows(_ batch: Int, mask: AttentionMask, rows: [Int]) -> [[Float]] {
            var x = embedding(Array([[Int]](repeating: tokens, count: batch).joined())).reshaped([batch, l, d])
            if let positions { x = positions(x, startPosition: 0) }
            for block in blocks { x = block(x, mask: mask) }
            let flat = x.reshaped([batch * l, d])
            let picked = Tensor.concatenated(rows.enumerated().map { b, r in flat.sliced(axis: 0, (b * l + r)..<(b * l + r + 1)) }, axis: 0)
            let logits = head(finalNorm(picked))
            return (0..<rows.count).map { Array(logits.scalars[($0 * v)..<(($0 + 1) * v)]) }
        }
        let plain = logits(tokens: [tokens])   // [1, L, V]
        let base = (0..<l).map { Array(plain.scalars[($0 * v)..<(($0 + 1) * v)]) }
        let pairs = (0..<l).flatMap { f in (0...f).map { (query: f, key: $0) } }
        var matrix = [[Float]](repeating: [Float](repeating: 0, count: l), count: l)
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let chunk = Array(pairs[start..<min(start + batchSize, pairs.count)])
            let rows = finalRows(chunk.count, mask: AttentionMask.removingEdges(chunk.map { Optional($0) }, length: l, causal: true),
                                 rows: chunk.map(\.query))
            for (b, pair) in chunk.enumerated() {
                matrix[pair.query][pair.key] = Float(klDivergence(logits: base[pair.query], logits: rows[b]))
            }
        }
        return matrix
    }
}
