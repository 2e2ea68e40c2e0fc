/// Which keys each query may attend to, and any additive bias on the scores.
///
/// Shapes below use `B` batch, `Hq` query heads, `Lq` queries, `Lk` keys.
///
/// **Causal alignment.** `.causal` aligns the query block to the *end* of the keys: query `i`
/// may attend key `j` iff `j ≤ i + (Lk − Lq)`. With `Lq == Lk` this is the usual lower
/// triangle; with `Lq < Lk` (incremental decoding against a KV cache holding earlier tokens)
/// the last query sees every key. This is the bottom-right convention of flash-attn and MLX;
/// PyTorch's `is_causal` aligns top-left (`j ≤ i`), which differs whenever `Lq ≠ Lk`.
///
/// A query row that may attend to no key at all produces a zero output row (never NaN).
public enum AttentionMask: Sendable {
    /// Every query attends every key.
    case none
    /// Query `i` attends key `j` iff `j ≤ i + (Lk − Lq)` (bottom-right aligned).
    case causal
    /// Causal as above, and at most `window` most recent keys including the query's own
    /// position: `i + (Lk − Lq) − window < j ≤ i + (Lk − Lq)`. `window` must be ≥ 1.
    case slidingWindow(Int)
    /// One valid length per batch row (`B` entries): keys at index `≥ lengths[b]` are ignored.
    case keyPadding([Int])
    /// A tensor broadcastable to `[B, Hq, Lq, Lk]`; nonzero means "may attend".
    case boolean(Tensor)
    /// A tensor broadcastable to `[B, Hq, Lq, Lk]` added to the scaled scores
    /// (use `-Float.infinity` to forbid a pair).
    case additive(Tensor)
}

/// Which implementation computes attention.
public enum AttentionImplementation: Sendable, CaseIterable {
    /// The fused kernel (the default choice).
    case automatic
    /// Materialises the `Lq × Lk` scores: the readable specification, O(Lq·Lk) memory.
    case reference
    /// FlashAttention-2-style tiled kernel with an online softmax: O(Lq·D) extra memory.
    case fused
}
