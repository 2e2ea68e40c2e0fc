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
    /// last byte.
    func forwardCached(_ chunk: [Int], caches: inout [KeyValueCache]) -> [Float] {
        forwardCached(chunks: [chunk], caches: &caches)[0]
    }

    /// `B` chunks of one length `n` (row `b` continuing the positions in row `b` of `caches`,
    /// uniform caches of batch `B`) through every block as one batch `[B, n, d]`; the logits
    /// `[256]` of each chunk's last byte. The one forward that ``TinyLLMDecoder`` (`B = 1`) and
    /// ``TinyLLMBatchDecoder`` (prompts and window refills) use: its products run as `B` stacked
    /// products (`MatrixMultiply.withStackedProducts`), so every row gets the bits it gets alone.
    func forwardCached(chunks: [[Int]], caches: inout [KeyValueCache]) -> [[Float]] {
        let (b, n, d) = (chunks.count, chunks[0].count, configuration.width)
        let start = caches[0].length                                        // position of chunk[0]
        return MatrixMultiply.withStackedProducts(b) {
            var x = embedding(chunks.flatMap { $0 }).reshaped([b, n, d])    // [B, n, d]
            if let positions { x = positions(x, startPosition: start) }
            for i in blocks.indices {
                x = blocks[i](x, mask: .causal, cache: &caches[i])
            }
            let last = x.sliced(axis: 1, (n - 1)..<n)                       // [B, 1, d]
            let scalars = head(finalNorm(last)).scalars
            let v = configuration.vocabularySize
            return (0..<b).map { Array(scalars[($0 * v)..<(($0 + 1) * v)]) }
        }
    }
}
