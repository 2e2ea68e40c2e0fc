/// Interventions for attribution: run a batch of copies of one input, each copy with some
/// attention edges forbidden (a mask per batch row) or some heads switched off (a gate per
/// batch row and head). Nothing is copied from the model; every copy goes through the same
/// engine calls as a plain forward.
extension MultiHeadAttention {
    /// Self-attention with per-row head gates:
    ///
    ///     out[b] = concat(g[b,1]·head₁[b] … g[b,Hq]·head_Hq[b]) · W_Oᵀ + b_O
    ///
    /// `g = 1` everywhere is the plain forward; `g[b, h] = 0` removes head `h`'s context vector
    /// from batch row `b` before the output projection (head ablation, Michel et al. 2019).
    ///
    /// - Parameters:
    ///   - x: `[B, L, modelSize]`.
    ///   - mask: see ``AttentionMask``.
    ///   - headGates: `[B, Hq]` multipliers, or nil for none.
    ///   - positionOffset: the position of `x`'s first token, for RoPE.
    public func callAsFunction(
        _ x: Tensor, mask: AttentionMask, headGates: Tensor?, positionOffset: Int = 0
    ) -> Tensor {
        checkInput(x, name: "x", width: modelSize)
        let (q, k, v) = project(x, context: nil, positionOffset: positionOffset)
        var context = attend(queries: q, keys: k, values: v, mask: mask, selfAttention: true)
        if let headGates { context = Self.gatingHeads(context, by: headGates) }
        return outputProjection(context)
    }

    /// `heads[b, h, i, :] · gates[b, h]`: `[B, H, L, D]` scaled per batch row and head by `[B, H]`.
    public static func gatingHeads(_ heads: Tensor, by gates: Tensor) -> Tensor {
        checkPrecondition(heads.rank == 4 && gates.shape == [heads.shape[0], heads.shape[1]],
            "MultiHeadAttention.gatingHeads: gates \(gates.shape) must be [B, H] for heads \(heads.shape)")
        let block = heads.shape[2] * heads.shape[3]
        return Tensor(uninitializedShape: heads.shape) { out in
            heads.withUnsafeBufferPointer { h in
                gates.withUnsafeBufferPointer { g in
                    for index in 0..<g.count {
                        let gate = g[index], base = index * block
                        for e in 0..<block { out[base + e] = h[base + e] * gate }
                    }
                }
            }
        }
    }
}

extension TransformerBlock {
    /// The block with per-row head gates on its attention (see
    /// ``MultiHeadAttention/callAsFunction(_:mask:headGates:positionOffset:)``).
    public func callAsFunction(_ x: Tensor, mask: AttentionMask, headGates: Tensor?, positionOffset: Int = 0) -> Tensor {
        residual(x) { attention($0, mask: mask, headGates: headGates, positionOffset: positionOffset) }
    }
}

extension AttentionMask {
    /// One boolean mask per batch row, `[B, 1, L, L]` (shared by every head): row `b` allows
    /// what `causal` allows (`j ≤ i` when true, everything when false) except the single edge
    /// `edges[b]` = (query, key), which is forbidden; a `nil` edge forbids nothing.
    ///
    /// This is the knockout of Attention-Rollout's critics: the edge query→key is removed in
    /// every layer and head, all other edges are kept, and the query's softmax renormalises
    /// over the keys it still sees: `A'ᵢⱼ = Aᵢⱼ / (1 − Aᵢₖ)` for `j ≠ k`.
    public static func removingEdges(_ edges: [(query: Int, key: Int)?], length: Int, causal: Bool) -> AttentionMask {
        checkPrecondition(length >= 1 && !edges.isEmpty,
            "AttentionMask.removingEdges: need length ≥ 1 and at least one row, got length \(length), \(edges.count) rows")
        let l = length
        return .boolean(Tensor(uninitializedShape: [edges.count, 1, l, l]) { out in
            for (b, edge) in edges.enumerated() {
                let base = b * l * l
                for i in 0..<l { for j in 0..<l { out[base + i * l + j] = (!causal || j <= i) ? 1 : 0 } }
                if let edge {
                    checkPrecondition(edge.query >= 0 && edge.query < l && edge.key >= 0 && edge.key < l,
                        "AttentionMask.removingEdges: edge \(edge) outside a sequence of \(l) tokens")
                    out[base + edge.query * l + edge.key] = 0
                }
            }
        })
    }
}

/// What a model's attribution drivers measure for one focus token (see `attend attribute`):
/// the attention weights it had, and the causal effects of removing edges and heads.
///
/// `T` tokens, `N` layers, `H` heads:
/// - ``weights``: `weights[l]` is layer `l`'s softmax weights `[H, T, T]` (row = query).
/// - ``knockout``: `knockout[j]` is the change of the model's output when the edge focus→j is
///   forbidden in every layer and head at once (`T` values, `j = focus` included).
/// - ``headAblation``: `headAblation[l][h]` is the change when head `h` of layer `l` has its
///   context vector zeroed before the output projection.
///
/// The measure of "change" is the model family's: `1 − cos` of hidden states or sentence
/// embeddings for encoders, KL divergence in nats of next-token distributions for decoders.
public struct AttributionEffects: Sendable {
    public var weights: [Tensor]
    public var knockout: [Float]
    public var headAblation: [[Float]]

    public init(weights: [Tensor], knockout: [Float], headAblation: [[Float]]) {
        self.weights = weights; self.knockout = knockout; self.headAblation = headAblation
    }
}

/// `1 − cos(a, b) = 1 − a·b / (‖a‖‖b‖)`, in Double (0 for identical directions, up to 2;
/// 0 when either vector is zero and the other is too, 1 when only one is).
public func cosineDistance(_ a: [Float], _ b: [Float]) -> Float {
    checkPrecondition(a.count == b.count, "cosineDistance: vectors of \(a.count) and \(b.count) elements")
    var dot = 0.0, aa = 0.0, bb = 0.0
    for i in a.indices {
        let x = Double(a[i]), y = Double(b[i])
        dot += x * y; aa += x * x; bb += y * y
    }
    if aa == 0 && bb == 0 { return 0 }
    if aa == 0 || bb == 0 { return 1 }
    return Float(max(0, 1 - dot / (aa * bb).squareRoot()))
}
