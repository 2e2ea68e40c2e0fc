/// Incremental decoding with a ``KeyValueCache``.
///
/// Each call projects only the new tokens, appends their keys and values to the cache, and
/// lets the new queries attend to every cached position. The `.causal` mask is bottom-right
/// aligned (query `i` of the `Lq` new ones sees keys `j ≤ i + (Lk − Lq)`, `Lk` = cached length
/// after the append), so a chunk of new tokens against a cache gives the rows the full causal
/// pass would give: feeding a sequence token by token, or in chunks, equals one causal call.
extension MultiHeadAttention {
    /// Self-attention of new tokens `x` `[B, Lq, modelSize]` against themselves and the cached
    /// ones; appends their keys and values to `cache`. Returns `[B, Lq, modelSize]`.
    ///
    /// - Parameters:
    ///   - mask: `.causal` (default) for a decoder; any ``AttentionMask`` is applied with
    ///     `Lk` = the cache length after the append.
    ///   - positionOffset: the position of `x`'s first token for RoPE; `nil` means
    ///     `cache.length` (right unless the cache slid with `removeFirst`).
    public func callAsFunction(
        _ x: Tensor, mask: AttentionMask = .causal, cache: inout KeyValueCache, positionOffset: Int? = nil
    ) -> Tensor {
        checkInput(x, name: "x", width: modelSize)
        checkPrecondition(cache.batch == x.shape[0] && cache.keyValueHeads == keyValueHeads
                && cache.headDimension == headDimension && cache.valueDimension == headDimension,
            "MultiHeadAttention: cache [B \(cache.batch), Hkv \(cache.keyValueHeads), D \(cache.headDimension), Dv \(cache.valueDimension)] does not fit x \(x.shape) with keyValueHeads \(keyValueHeads), headDimension \(headDimension)")
        let (q, k, v) = project(x, context: nil, positionOffset: positionOffset ?? cache.length)
        cache.append(keys: k, values: v)
        let newCount = x.shape[1]

        let heads: Tensor
        if newCount == 1, alibiSlopesIfAny == nil, Self.isCausalOrNone(mask) {
            // One new token may see every cached position, so attend over the preallocated
            // storage directly with `.keyPadding(length)`: no copy of the cache per token.
            // (Not with ALiBi: its bias is measured from the storage's end, which shifts every
            // score by slope·(capacity − length), harmless in exact arithmetic but a Float32
            // rounding error of that magnitude's ulp.)
            heads = scaledDotProductAttention(
                queries: q, keys: cache.keyStorage, values: cache.valueStorage, scale: scale,
                mask: .keyPadding([Int](repeating: cache.length, count: cache.batch)),
                implementation: implementation)
        } else {
            heads = attend(queries: q, keys: cache.keys, values: cache.values, mask: mask, selfAttention: true)
        }
        return outputProjection(heads)
    }

    static func isCausalOrNone(_ mask: AttentionMask) -> Bool {
        mask.window == nil && mask.keyLengths == nil && mask.element == nil
    }
}
