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
    ///   - x: the new tokens, `[B, Lq, modelSize]`.
    ///   - mask: `.causal` (default) for a decoder; any ``AttentionMask`` is applied with
    ///     `Lk` = the cache length after the append.
    ///   - positionOffset: the position of `x`'s first token for RoPE; `nil` means
    ///     `cache.length` (right unless the cache slid with `removeFirst`).
    ///   - cache: this layer's ``KeyValueCache`` (batch `B`); grows by `Lq`.
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

// MARK: - Ragged batches (one new token per row, rows of different lengths)

extension MultiHeadAttention {
    /// One decoding step for a batch whose rows have different lengths: `x` `[B, 1, modelSize]`
    /// holds one new token per row; row `b`'s key and value are appended at position
    /// `cache.rowLengths[b]` (its own end, see ``KeyValueCache/appendRagged(keys:values:rows:)``)
    /// and its query attends to that row's keys only:
    ///
    /// ```
    /// outᵦ = softmax(qᵦ·Kᵦᵀ · scale) · Vᵦ     with Kᵦ, Vᵦ = positions 0 ..< rowLengths[b] (after the append)
    /// ```
    ///
    /// computed over the preallocated storage with `.keyPadding(cache.rowLengths)`, the same call
    /// as the one-token path of a single sequence, so each row gets the bits it would get
    /// decoded alone. RoPE rotates row `b` at position `rowLengths[b]` (before the append).
    /// Rows with `rows[b] == false` are not appended to (their output row is meaningless and
    /// should be ignored); nil means every row.
    ///
    /// - Precondition: `x` is `[cache.batch, 1, modelSize]`, the cache fits this layer, every
    ///   appended row has a free position, and the layer does not use ALiBi.
    public func callAsFunction(nextTokens x: Tensor, raggedCache cache: inout KeyValueCache, rows: [Bool]? = nil) -> Tensor {
        checkInput(x, name: "x", width: modelSize)
        checkPrecondition(x.shape[1] == 1 && cache.batch == x.shape[0] && cache.keyValueHeads == keyValueHeads
                && cache.headDimension == headDimension && cache.valueDimension == headDimension,
            "MultiHeadAttention: ragged decoding needs x [B, 1, \(modelSize)] with a cache [B \(cache.batch), Hkv \(cache.keyValueHeads), D \(cache.headDimension), Dv \(cache.valueDimension)] of this layer (keyValueHeads \(keyValueHeads), headDimension \(headDimension)), got x \(x.shape)")
        checkPrecondition(alibiSlopesIfAny == nil, "MultiHeadAttention: ragged decoding does not support ALiBi")
        var (q, k, v) = project(x, context: nil, positionOffset: 0, rotates: false)
        if case .rotary(let rope) = positionalEncoding {
            let batch = x.shape[0]
            func rotated(_ t: Tensor) -> Tensor {
                Tensor.concatenated((0..<batch).map { b in
                    rope(t.sliced(axis: 0, b..<(b + 1)), startPosition: cache.rowLengths[b])
                }, axis: 0)
            }
            q = rotated(q); k = rotated(k)
        }
        cache.appendRagged(keys: k, values: v, rows: rows)
        let heads = scaledDotProductAttention(
            queries: q, keys: cache.keyStorage, values: cache.valueStorage, scale: scale,
            mask: .keyPadding(cache.rowLengths), implementation: implementation)
        return outputProjection(heads)
    }
}
