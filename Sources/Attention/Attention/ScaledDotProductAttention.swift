/// Scaled dot-product attention: `Attention(Q, K, V) = softmax(Q·Kᵀ · scale + bias) · V`.
///
/// - Parameters:
///   - queries: `[B, Hq, Lq, D]`.
///   - keys: `[B, Hkv, Lk, D]`, with `Hq` a multiple of `Hkv`: equal is multi-head,
///     `1 < Hkv < Hq` grouped-query, `Hkv == 1` multi-query. Query head `h` reads key/value
///     head `h / (Hq / Hkv)`; keys and values are never copied per query head.
///   - values: `[B, Hkv, Lk, Dv]`.
///   - scale: multiplies `Q·Kᵀ`; `nil` means `1/√D` (the √d_k of the paper, which keeps the
///     scores' variance near 1 so the softmax does not saturate).
///   - mask: which keys each query may see; see ``AttentionMask`` (causal is bottom-right aligned).
///   - alibiSlopes: optional ALiBi slopes, one per query head, applied inside the kernel as
///     `−slope · |i + (Lk − Lq) − j|` (no `Lq × Lk` bias is materialised).
///   - implementation: `.automatic` (fused), `.fused`, or `.reference` (materialised scores).
/// - Returns: `[B, Hq, Lq, Dv]`. A query that may attend to no key gets a zero row.
public func scaledDotProductAttention(
    queries: Tensor, keys: Tensor, values: Tensor,
    scale: Float? = nil, mask: AttentionMask = .none,
    alibiSlopes: [Float]? = nil,
    implementation: AttentionImplementation = .automatic
) -> Tensor {
    let problem = AttentionProblem(
        function: "scaledDotProductAttention", queries: queries.shape, keys: keys.shape, values: values.shape,
        scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    switch implementation {
    case .reference:
        return ReferenceAttention.forward(problem, queries: queries, keys: keys, values: values).output
    case .automatic, .fused:
        return FusedAttention.forward(problem, queries: queries, keys: keys, values: values).output
    }
}

/// The softmax attention weights `softmax(Q·Kᵀ · scale + bias)`, `[B, Hq, Lq, Lk]`, for
/// inspection and visualisation. Same shapes and mask semantics as
/// ``scaledDotProductAttention(queries:keys:values:scale:mask:alibiSlopes:implementation:)``;
/// each row sums to 1, or is all zeros when the query may attend to no key.
public func attentionWeights(
    queries: Tensor, keys: Tensor, scale: Float? = nil, mask: AttentionMask = .none,
    alibiSlopes: [Float]? = nil
) -> Tensor {
    let problem = AttentionProblem(
        function: "attentionWeights", queries: queries.shape, keys: keys.shape, values: nil,
        scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    return ReferenceAttention.weights(problem, queries: queries, keys: keys)
}
