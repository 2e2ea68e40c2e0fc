import Attention

/// Next-byte logits for a growing byte sequence, with a KV cache and a sliding context.
///
/// The model sees at most `contextLength` bytes, always starting at position 0 of its
/// window (learned positions have no row beyond `contextLength`). When the sequence outgrows
/// the window, the window jumps forward so that it keeps its last
/// ``keptAfterSlide`` bytes (¾ of the context), and the cache is refilled from them in one
/// batched pass. The refill costs one forward over ¾·context bytes every ¼·context new bytes,
/// so generation stays linear in the number of bytes produced.
///
/// With `usesCache == false` every call recomputes the whole window from scratch (the
/// quadratic baseline); the window policy is the same, so both modes see the same bytes and
/// greedy decoding gives the same tokens.
///
/// ```swift
/// var decoder = TinyLLMDecoder(model: model)
/// var logits = decoder.append(Array("ROMEO:".utf8).map(Int.init))   // [256] for the next byte
/// logits = decoder.append([next])
/// ```
public struct TinyLLMDecoder: Sendable {
    public let model: TinyLLMModel
    /// Whether keys and values are cached (`false`: full recompute per byte).
    public let usesCache: Bool
    /// Every byte appended so far.
    public private(set) var tokens: [Int] = []
    /// Index in ``tokens`` of the window's first byte (position 0 for the model).
    public private(set) var windowStart = 0
    /// One cache per block, holding the keys and values of `tokens[windowStart...]`.
    private var caches: [KeyValueCache]

    public init(model: TinyLLMModel, usesCache: Bool = true) {
        self.model = model
        self.usesCache = usesCache
        let c = model.configuration
        caches = usesCache ? model.blocks.map { $0.attention.makeCache(batch: 1, capacity: c.contextLength) } : []
    }

    /// Bytes kept when the window slides: `contextLength − ⌊contextLength / 4⌋` (at least 1).
    public var keptAfterSlide: Int {
        let n = model.configuration.contextLength
        return Swift.max(1, n - n / 4)
    }

    /// Appends `newTokens` (ids 0–255, at least one) and returns the logits `[256]` for the
    /// byte that follows them.
    public mutating func append(_ newTokens: [Int]) -> [Float] {
        checkPrecondition(!newTokens.isEmpty && newTokens.allSatisfy { $0 >= 0 && $0 < 256 },
            "TinyLLMDecoder.append: needs at least one id in 0..<256, got \(newTokens.prefix(8))")
        tokens += newTokens
        var slid = false
        if tokens.count - windowStart > model.configuration.contextLength {
            windowStart = tokens.count - keptAfterSlide
            slid = true
        }
        guard usesCache else {
            return lastRowLogits(model.logits(tokens: [Array(tokens[windowStart...])]))
        }
        if slid {
            for i in caches.indices { caches[i].removeAll() }
            return forwardCached(Array(tokens[windowStart...]))
        }
        return forwardCached(newTokens)
    }

    /// Runs `chunk` (the bytes after those already cached) through every block with its
    /// cache; the logits of the chunk's last byte.
    private mutating func forwardCached(_ chunk: [Int]) -> [Float] {
        model.forwardCached(chunk, caches: &caches)
    }

    private func lastRowLogits(_ logits: Tensor) -> [Float] {
        let (l, v) = (logits.shape[1], logits.shape[2])
        return Array(logits.scalars[((l - 1) * v)..<(l * v)])
    }
}

extension TinyLLMModel {
    /// Runs `chunk` (the bytes after those already in `caches`, one uniform batch-1 cache per
    /// block) through every block, appending to the caches; the logits `[256]` of the chunk's
    /// last byte. The one forward that both ``TinyLLMDecoder`` and ``TinyLLMBatchDecoder`` use
    /// for a prompt or a window refill, so the two give the same bits.
    func forwardCached(_ chunk: [Int], caches: inout [KeyValueCache]) -> [Float] {
        let d = configuration.width
        let start = caches[0].length                                        // position of chunk[0]
        var x = embedding(chunk).reshaped([1, chunk.count, d])              // [1, n, d]
        if let positions { x = positions(x, startPosition: start) }
        for i in blocks.indices {
            x = blocks[i](x, mask: .causal, cache: &caches[i])
        }
        let last = x.sliced(axis: 1, (chunk.count - 1)..<chunk.count)       // [1, 1, d]
        return head(finalNorm(last)).scalars
    }
}
