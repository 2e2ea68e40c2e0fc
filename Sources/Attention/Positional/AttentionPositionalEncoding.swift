/// Position information that a ``MultiHeadAttention`` layer applies *inside* attention
/// (as opposed to ``SinusoidalPositionalEncoding`` and ``LearnedPositionalEmbedding``, which
/// are added to the token embeddings before the first block).
///
/// Both options are relative: they make the score of query position `m` and key position `n`
/// depend on `m − n`, so they compose with a ``KeyValueCache`` (the layer passes the cache's
/// length as the position of the first new token). They apply to self-attention only; a
/// cross-attention call (queries and keys from different sequences) ignores them.
public enum AttentionPositionalEncoding: Sendable, Equatable {
    /// No position information inside attention.
    case none
    /// Rotary embedding of queries and keys after the projections and before the scores;
    /// see ``RotaryEmbedding`` (GPT-NeoX "rotate half" layout).
    case rotary(RotaryEmbedding)
    /// ALiBi (Press et al. 2022): head `h` adds `−slopeₕ · (i + (Lk − Lq) − j)` to the score of
    /// query `i` and key `j`, with `slopeₕ` from ``alibiSlopes(heads:)``. The bias is computed
    /// inside the attention kernel; no `Lq × Lk` matrix is materialised.
    case alibi

    /// RoPE for heads of width `headDimension` with the usual base 10 000.
    public static func rotary(headDimension: Int, base: Double = 10_000) -> AttentionPositionalEncoding {
        .rotary(RotaryEmbedding(headDimension: headDimension, base: base))
    }
}
