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
    return attentionForward(problem, queries: queries, keys: keys, values: values, implementation: implementation).output
}

/// Scaled dot-product attention that also returns, per query row, the log-sum-exp of its
/// masked, scaled scores: `lse[b, h, i] = log Σⱼ exp(scale·qᵢ·kⱼ + bias(i, j))` over the
/// allowed keys, `-inf` for a row that may attend to no key. The backward
/// (``scaledDotProductAttentionBackward(outputGradient:queries:keys:values:output:logSumExp:scale:mask:alibiSlopes:implementation:)``)
/// recomputes the probabilities from it as `P(i, j) = exp(score(i, j) − lse[i])`.
///
/// Same parameters and semantics as
/// ``scaledDotProductAttention(queries:keys:values:scale:mask:alibiSlopes:implementation:)``.
/// - Returns: `output` `[B, Hq, Lq, Dv]` and `logSumExp` `[B, Hq, Lq]`.
public func scaledDotProductAttentionWithLogSumExp(
    queries: Tensor, keys: Tensor, values: Tensor,
    scale: Float? = nil, mask: AttentionMask = .none,
    alibiSlopes: [Float]? = nil,
    implementation: AttentionImplementation = .automatic
) -> (output: Tensor, logSumExp: Tensor) {
    let problem = AttentionProblem(
        function: "scaledDotProductAttentionWithLogSumExp", queries: queries.shape, keys: keys.shape,
        values: values.shape, scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    return attentionForward(problem, queries: queries, keys: keys, values: values, implementation: implementation)
}

/// The one place the forward implementation is chosen.
func attentionForward(
    _ problem: AttentionProblem, queries: Tensor, keys: Tensor, values: Tensor,
    implementation: AttentionImplementation
) -> (output: Tensor, logSumExp: Tensor) {
    switch implementation {
    case .reference:
        return ReferenceAttention.forward(problem, queries: queries, keys: keys, values: values)
    case .automatic, .fused:
        return FusedAttention.forward(problem, queries: queries, keys: keys, values: values)
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
