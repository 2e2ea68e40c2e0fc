/// The gradients of scaled dot-product attention with respect to its three inputs.
///
/// With `S = scale·Q·Kᵀ + bias` (forbidden pairs `−inf`), `P = softmax(S)` row-wise and
/// `O = P·V`, and `dO = ∂L/∂O` the gradient arriving from above:
///
///     dV = Pᵀ·dO
///     dP = dO·Vᵀ
///     dS = P ∘ (dP − δ),  δᵢ = Σⱼ Pᵢⱼ·dPᵢⱼ = dOᵢ·Oᵢ
///     dQ = scale·dS·K,    dK = scale·dSᵀ·Q
///
/// For grouped-query and multi-query attention (`Hkv < Hq`) the key and value gradients of a
/// shared head are the sums over the query heads that read it. The masks and ALiBi are
/// constants: no gradient flows into them. A query row that may attend to no key contributes
/// nothing (its `dQ` row is zero, never NaN).
///
/// The fused implementation (the default) never materialises `Lq × Lk`: it recomputes each
/// tile's probabilities from the forward's log-sum-exp, `Pᵢⱼ = exp(Sᵢⱼ − lseᵢ)`, and skips tiles
/// that causal or sliding-window masking forbids entirely. Its result is deterministic: every
/// sum is taken in an order fixed by the problem's shape, independent of the thread count.
///
/// - Parameters:
///   - outputGradient: `dO`, `[B, Hq, Lq, Dv]`.
///   - queries: `[B, Hq, Lq, D]`, as given to the forward.
///   - keys: `[B, Hkv, Lk, D]`.
///   - values: `[B, Hkv, Lk, Dv]`.
///   - output: `O`, `[B, Hq, Lq, Dv]`, from
///     ``scaledDotProductAttentionWithLogSumExp(queries:keys:values:scale:mask:alibiSlopes:implementation:)``.
///   - logSumExp: `[B, Hq, Lq]` from the same call (`−inf` on rows with no allowed key).
///   - scale: exactly as given to the forward.
///   - mask: exactly as given to the forward.
///   - alibiSlopes: exactly as given to the forward.
///   - implementation: `.automatic`/`.fused` (tiled, O(N·D) memory) or `.reference`
///     (materialises `P`, recomputed from scratch; `output` and `logSumExp` are then only
///     shape-checked).
/// - Returns: `queries` (`dQ`, shape of `queries`), `keys` (`dK`, shape of `keys`) and
///   `values` (`dV`, shape of `values`).
public func scaledDotProductAttentionBackward(
    outputGradient: Tensor,
    queries: Tensor, keys: Tensor, values: Tensor,
    output: Tensor, logSumExp: Tensor,
    scale: Float? = nil, mask: AttentionMask = .none,
    alibiSlopes: [Float]? = nil,
    implementation: AttentionImplementation = .automatic
) -> (queries: Tensor, keys: Tensor, values: Tensor) {
    let function = "scaledDotProductAttentionBackward"
    let problem = AttentionProblem(
        function: function, queries: queries.shape, keys: keys.shape, values: values.shape,
        scale: scale, mask: mask, alibiSlopes: alibiSlopes)
    let outputShape = [problem.batch, problem.queryHeads, problem.queryLength, problem.valueDimension]
    checkPrecondition(outputGradient.shape == outputShape,
        "\(function): outputGradient shape \(outputGradient.shape) must be \(outputShape) [B, Hq, Lq, Dv] (queries \(queries.shape), values \(values.shape))")
    checkPrecondition(output.shape == outputShape,
        "\(function): output shape \(output.shape) must be \(outputShape) [B, Hq, Lq, Dv] (queries \(queries.shape), values \(values.shape))")
    let rowShape = Array(outputShape.prefix(3))
    checkPrecondition(logSumExp.shape == rowShape,
        "\(function): logSumExp shape \(logSumExp.shape) must be \(rowShape) [B, Hq, Lq] (queries \(queries.shape))")
    switch implementation {
    case .reference:
        return ReferenceAttentionBackward.backward(
            problem, outputGradient: outputGradient, queries: queries, keys: keys, values: values)
    case .automatic, .fused:
        return FusedAttentionBackward.backward(
            problem, outputGradient: outputGradient, queries: queries, keys: keys, values: values,
            output: output, logSumExp: logSumExp)
    }
}
