import Attention

/// Next-byte logits for several byte sequences decoded together in one batch, each row giving
/// exactly (bit for bit) the logits ``TinyLLMDecoder`` gives for that sequence alone.
///
/// The rows share one ``KeyValueCache`` per block, of batch `B` and capacity `contextLength`,
/// whose rows have their own lengths (``KeyValueCache/rowLengths``): row `b`'s keys and values
/// sit at positions `0..<rowLengths[b]`, where decoding it alone would put them. A step in which
/// every row appends one byte is one batched pass: `x` `[B, 1, d]`, per-row learned positions
/// (or RoPE offsets), and attention over the cache storage with
/// `.keyPadding(rowLengths)` — causal for free, since each row's only query is its newest byte
/// and every key before it is allowed:
///
/// ```
/// logitsᵦ = head(LN(blocks(E[tᵦ] + P[nᵦ])))     attention of row b over its keys 0 ... nᵦ
/// ```
///
/// Every product in that pass runs row-independently
/// (`ak_sgemm_rows`, which sums each row in an order that depends only on the inner size), so
/// a row's numbers do not depend on the batch around it. A prompt (several bytes) and a window
/// refill (the row outgrew `contextLength`: keep its last ``keptAfterSlide`` bytes and recompute,
/// as ``TinyLLMDecoder`` does) go through the decoder's own forward, batched over the rows whose
/// chunks have the same length, with each product run as stacked per-row products (the kernel
/// a single row's chunk would get, `MatrixMultiply.withStackedProducts`); the resulting keys
/// and values are then copied into the rows (``KeyValueCache/replaceRow(_:with:sourceRow:)``).
///
/// ```swift
/// var decoder = TinyLLMBatchDecoder(model: model, batch: 2)
/// var logits = decoder.append([Array("ROMEO:".utf8).map(Int.init), Array("JULIET".utf8).map(Int.init)])
/// logits = decoder.append([[nextA], [nextB]])           // two [256] rows
/// ```
public struct TinyLLMBatchDecoder: Sendable {
    /// The model every row is decoded with.
    public let model: TinyLLMModel
    /// `B`, the number of rows.
    public let batch: Int
    /// Every byte appended so far, per row.
    public private(set) var tokens: [[Int]]
    /// Per row, the index in its ``tokens`` of the window's first byte (position 0).
    public private(set) var windowStarts: [Int]
    /// One ragged cache per block, batch `B`, holding `tokens[b][windowStarts[b]...]` per row.
    private var caches: [KeyValueCache]

    /// An empty decoder for `batch ≥ 1` rows.
    public init(model: TinyLLMModel, batch: Int) {
        checkPrecondition(batch >= 1, "TinyLLMBatchDecoder: batch must be ≥ 1, got \(batch)")
        self.model = model
        self.batch = batch
        tokens = [[Int]](repeating: [], count: batch)
        windowStarts = [Int](repeating: 0, count: batch)
        let context = model.configuration.contextLength
        caches = model.blocks.map { $0.attention.makeCache(batch: batch, capacity: context) }
    }

    /// Bytes kept when a row's window slides (the same rule as ``TinyLLMDecoder/keptAfterSlide``).
    public var keptAfterSlide: Int {
        let n = model.configuration.contextLength
        return Swift.max(1, n - n / 4)
    }

    /// Appends `newTokens[b]` (ids 0–255, at least one) to row `b` for every row and returns,
    /// per row, the logits `[256]` of the byte that follows. Rows that append exactly one byte
    /// to a non-empty window that still has room go through one batched pass; rows that start
    /// a window (prompts, refills) go through one batched pass per chunk length; a chunk of
    /// several bytes appended to a non-empty window runs alone.
    public mutating func append(_ newTokens: [[Int]]) -> [[Float]] {
        checkPrecondition(newTokens.count == batch,
            "TinyLLMBatchDecoder.append: needs one token list per row (\(batch)), got \(newTokens.count)")
        for (b, row) in newTokens.enumerated() {
            checkPrecondition(!row.isEmpty && row.allSatisfy { $0 >= 0 && $0 < 256 },
                "TinyLLMBatchDecoder.append: row \(b) needs at least one id in 0..<256, got \(row.prefix(8))")
        }
        let context = model.configuration.contextLength
        var logits = [[Float]](repeating: [], count: batch)
        var batched = [Bool](repeating: false, count: batch)
        var fresh: [Int: [(row: Int, chunk: [Int])]] = [:]      // by chunk length
        for b in 0..<batch {
            let hadCache = caches[0].rowLengths[b] > 0
            tokens[b] += newTokens[b]
            if tokens[b].count - windowStarts[b] > context {
                windowStarts[b] = tokens[b].count - keptAfterSlide
                let window = Array(tokens[b][windowStarts[b]...])
                fresh[window.count, default: []].append((b, window))
            } else if newTokens[b].count == 1 && hadCache {
                batched[b] = true
            } else if !hadCache {
                fresh[newTokens[b].count, default: []].append((b, newTokens[b]))
            } else {
                logits[b] = forwardAlone(row: b, chunk: newTokens[b])
            }
        }
        for (_, group) in fresh.sorted(by: { $0.key < $1.key }) {
            for (row, rowLogits) in forwardFresh(group) { logits[row] = rowLogits }
        }
        if batched.contains(true) {
            let stepLogits = step(newTokens.map { $0[0] }, rows: batched)
            for b in 0..<batch where batched[b] { logits[b] = stepLogits[b] }
        }
        return logits
    }

    /// Row `b` alone: `chunk` through the single-sequence forward against the row's cached
    /// positions; the row's keys and values are then replaced by the result.
    private mutating func forwardAlone(row b: Int, chunk: [Int]) -> [Float] {
        var single = caches.map { $0.row(b) }
        let logits = model.forwardCached(chunk, caches: &single)
        for i in caches.indices { caches[i].replaceRow(b, with: single[i]) }
        return logits
    }

    /// Rows starting from an empty window (a prompt, or a refill after a slide) with chunks of
    /// one length, as one batch through the shared forward (stacked products, so each row gets
    /// the bits it gets alone); each row's keys and values then replace the row's.
    private mutating func forwardFresh(_ rows: [(row: Int, chunk: [Int])]) -> [(Int, [Float])] {
        let context = model.configuration.contextLength
        var group = model.blocks.map { $0.attention.makeCache(batch: rows.count, capacity: context) }
        let logits = model.forwardCached(chunks: rows.map(\.chunk), caches: &group)
        for (index, entry) in rows.enumerated() {
            for i in caches.indices { caches[i].replaceRow(entry.row, with: group[i], sourceRow: index) }
        }
        return rows.indices.map { (rows[$0].row, logits[$0]) }
    }

    /// One batched pass: `next[b]` appended to every row with `rows[b]`; the other rows are
    /// carried along (any token, position 0) and their outputs dropped.
    private mutating func step(_ next: [Int], rows: [Bool]) -> [[Float]] {
        let d = model.configuration.width
        let lengths = caches[0].rowLengths
        let input = (0..<batch).map { rows[$0] ? next[$0] : 0 }
        var x = model.embedding(input).reshaped([batch, 1, d])                    // [B, 1, d]
        if let positions = model.positions {
            let rowsOfP = (0..<batch).map { b in
                positions.embeddings(positions: rows[b] ? lengths[b]..<(lengths[b] + 1) : 0..<1)
            }
            x = x + Tensor.concatenated(rowsOfP, axis: 0).reshaped([batch, 1, d])
        }
        let logits: Tensor = MatrixMultiply.withRowIndependentProducts {
            for i in model.blocks.indices {
                x = model.blocks[i](nextTokens: x, raggedCache: &caches[i], rows: rows)
            }
            return model.head(model.finalNorm(x))                                  // [B, 1, 256]
        }
        let v = model.configuration.vocabularySize
        let scalars = logits.scalars
        return (0..<batch).map { Array(scalars[($0 * v)..<(($0 + 1) * v)]) }
    }
}
