/// Every intermediate of one multi-head attention call, for inspection and visualisation.
///
/// Shapes: `B` batch, `Hq` query heads, `Hkv` key/value heads, `L` queries, `Lk` keys,
/// `D` head width, `d` model width. Query head `h` reads key/value head `h / (Hq / Hkv)`.
public struct AttentionIntermediates: Sendable {
    /// Projected queries `x·W_Qᵀ` split into heads (after RoPE when the layer has it), `[B, Hq, L, D]`.
    public var queries: Tensor
    /// Projected keys (after RoPE), `[B, Hkv, Lk, D]`.
    public var keys: Tensor
    /// Projected values, `[B, Hkv, Lk, D]`.
    public var values: Tensor
    /// `Q·Kᵀ · scale`, plus the ALiBi bias, with forbidden pairs `-inf`: the logits the softmax
    /// sees, `[B, Hq, L, Lk]`.
    public var scores: Tensor
    /// The attention weights `softmax(scores)`, `[B, Hq, L, Lk]`; each row sums to 1 (or is all
    /// zeros when the query may attend to nothing).
    public var weights: Tensor
    /// Each head's output `weights · V`, `[B, Hq, L, D]`.
    public var headOutputs: Tensor
    /// The heads concatenated along the feature axis, `[B, L, Hq·D]`.
    public var concatenated: Tensor
    /// The layer's output `concatenated · W_Oᵀ (+ b_O)`, `[B, L, d]`.
    public var output: Tensor
}

extension MultiHeadAttention {
    /// Runs the layer like `callAsFunction` and returns every intermediate (materialising the
    /// `L × Lk` scores, so meant for inspection of short sequences, not for speed).
    ///
    /// - Parameters:
    ///   - x: `[B, L, modelSize]`.
    ///   - context: `[B, Lc, contextSize]` for cross-attention, `nil` for self-attention.
    ///   - mask: as in `callAsFunction`.
    ///   - positionOffset: as in `callAsFunction` (RoPE position of `x`'s first token).
    public func intermediates(
        _ x: Tensor, context: Tensor? = nil, mask: AttentionMask = .none, positionOffset: Int = 0
    ) -> AttentionIntermediates {
        checkInput(x, name: "x", width: modelSize)
        if let context {
            checkInput(context, name: "context", width: contextSize)
            checkPrecondition(context.shape[0] == x.shape[0],
                "MultiHeadAttention.intermediates: context batch \(context.shape[0]) differs from x batch \(x.shape[0])")
        }
        let (q, k, v) = project(x, context: context, positionOffset: positionOffset)
        let slopes = context == nil ? alibiSlopesIfAny : nil
        let problem = AttentionProblem(
            function: "MultiHeadAttention.intermediates", queries: q.shape, keys: k.shape, values: v.shape,
            scale: scale, mask: mask, alibiSlopes: slopes)
        let scores = ReferenceAttention.scores(problem, queries: q, keys: k)
        let weights = scores.softmax()
        let heads = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: scale, mask: mask, alibiSlopes: slopes, implementation: .reference)
        let concatenated = Self.mergeHeads(heads)
        return AttentionIntermediates(
            queries: q, keys: k, values: v, scores: scores, weights: weights,
            headOutputs: heads, concatenated: concatenated, output: wo(concatenated))
    }
}
