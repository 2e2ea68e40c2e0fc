/// Keys and values of the tokens seen so far, for incremental (token-by-token) decoding.
///
/// Storage is preallocated: keys `[B, Hkv, capacity, D]` and values `[B, Hkv, capacity, Dv]`,
/// of which positions `0..<length` are filled. ``append(keys:values:)`` writes new positions
/// in place, so decoding `n` tokens copies each key and value once (O(n) in total, never the
/// O(n²) of concatenating a growing tensor every step). The keys are stored exactly as the
/// layer used them (after RoPE, when the layer has it).
///
/// A value type: copying a cache is cheap (copy-on-write) and the copy is independent, so a
/// prompt's cache can be reused for several continuations.
///
/// ```swift
/// var cache = attention.makeCache(batch: 1, capacity: 256)
/// for token in tokens { y = attention(embed(token), cache: &cache) }   // [1, 1, d] per step
/// ```
public struct KeyValueCache: Sendable {
    /// `B`.
    public let batch: Int
    /// `Hkv`.
    public let keyValueHeads: Int
    /// `D`, the key width.
    public let headDimension: Int
    /// `Dv`, the value width.
    public let valueDimension: Int
    /// The most positions the cache can hold.
    public let capacity: Int
    /// How many positions are filled (the position of the next token). With ragged rows
    /// (see ``rowLengths``) this is the longest row.
    public private(set) var length: Int = 0
    /// Filled positions per batch row (`B` entries). Every row has ``length`` positions unless
    /// the cache was filled row by row (``appendRagged(keys:values:rows:)``,
    /// ``replaceRow(_:with:sourceRow:)``), as batched decoding of prompts of different lengths does;
    /// row `b`'s keys and values then sit at positions `0..<rowLengths[b]`, exactly where
    /// decoding that row alone would put them.
    public private(set) var rowLengths: [Int]

    /// Whether every row has the same length.
    public var isUniform: Bool { rowLengths.allSatisfy { $0 == length } }

    /// `[B, Hkv, capacity, D]`; positions `≥ length` are unspecified (zeros or stale values).
    public private(set) var keyStorage: Tensor
    /// `[B, Hkv, capacity, Dv]`.
    public private(set) var valueStorage: Tensor

    /// An empty cache.
    public init(batch: Int, keyValueHeads: Int, headDimension: Int, valueDimension: Int? = nil, capacity: Int) {
        checkPrecondition(batch > 0 && keyValueHeads > 0 && headDimension > 0 && capacity > 0,
            "KeyValueCache: batch \(batch), keyValueHeads \(keyValueHeads), headDimension \(headDimension) and capacity \(capacity) must be positive")
        let dv = valueDimension ?? headDimension
        checkPrecondition(dv > 0, "KeyValueCache: valueDimension must be positive, got \(dv)")
        self.batch = batch; self.keyValueHeads = keyValueHeads
        self.headDimension = headDimension; self.valueDimension = dv; self.capacity = capacity
        self.rowLengths = [Int](repeating: 0, count: batch)
        self.keyStorage = .zeros([batch, keyValueHeads, capacity, headDimension])
        self.valueStorage = .zeros([batch, keyValueHeads, capacity, dv])
    }

    /// Positions still free.
    public var remainingCapacity: Int { capacity - length }

    /// The filled keys, `[B, Hkv, length, D]` (a copy).
    public var keys: Tensor { keyStorage.sliced(axis: 2, 0..<length) }
    /// The filled values, `[B, Hkv, length, Dv]` (a copy).
    public var values: Tensor { valueStorage.sliced(axis: 2, 0..<length) }

    /// Writes `keys` `[B, Hkv, n, D]` and `values` `[B, Hkv, n, Dv]` at positions
    /// `length..<length + n`.
    /// - Precondition: shapes match the cache, every row has ``length`` positions
    ///   (``isUniform``) and `n ≤ remainingCapacity`.
    public mutating func append(keys newKeys: Tensor, values newValues: Tensor) {
        checkPrecondition(isUniform,
            "KeyValueCache.append: rows have different lengths \(rowLengths.prefix(8)); use appendRagged(keys:values:rows:)")
        checkPrecondition(newKeys.rank == 4 && newKeys.shape[0] == batch && newKeys.shape[1] == keyValueHeads
                && newKeys.shape[3] == headDimension,
            "KeyValueCache.append: keys shape \(newKeys.shape) must be [\(batch), \(keyValueHeads), n, \(headDimension)]")
        let n = newKeys.shape[2]
        checkPrecondition(newValues.shape == [batch, keyValueHeads, n, valueDimension],
            "KeyValueCache.append: values shape \(newValues.shape) must be [\(batch), \(keyValueHeads), \(n), \(valueDimension)] (keys \(newKeys.shape))")
        checkPrecondition(n <= remainingCapacity,
            "KeyValueCache.append: \(n) new positions do not fit (length \(length), capacity \(capacity)); make a larger cache or slide the context")
        Self.write(newKeys, into: &keyStorage, at: length, capacity: capacity)
        Self.write(newValues, into: &valueStorage, at: length, capacity: capacity)
        length += n
        for b in 0..<batch { rowLengths[b] = length }
    }

    /// Writes one new position per batch row, each at the end of its own row: `keys`
    /// `[B, Hkv, 1, D]` row `b` goes to position `rowLengths[b]`, which then grows by one.
    /// Rows `b` with `rows[b] == false` are left as they are (their slice of `keys` is ignored).
    /// - Precondition: shapes match the cache, `rows` has `B` entries (nil: all rows) and every
    ///   written row has a free position.
    public mutating func appendRagged(keys newKeys: Tensor, values newValues: Tensor, rows: [Bool]? = nil) {
        checkPrecondition(newKeys.shape == [batch, keyValueHeads, 1, headDimension],
            "KeyValueCache.appendRagged: keys shape \(newKeys.shape) must be [\(batch), \(keyValueHeads), 1, \(headDimension)]")
        checkPrecondition(newValues.shape == [batch, keyValueHeads, 1, valueDimension],
            "KeyValueCache.appendRagged: values shape \(newValues.shape) must be [\(batch), \(keyValueHeads), 1, \(valueDimension)] (keys \(newKeys.shape))")
        let written = rows ?? [Bool](repeating: true, count: batch)
        checkPrecondition(written.count == batch,
            "KeyValueCache.appendRagged: rows has \(written.count) entries for batch \(batch)")
        for b in 0..<batch where written[b] {
            checkPrecondition(rowLengths[b] < capacity,
                "KeyValueCache.appendRagged: row \(b) is full (length \(rowLengths[b]), capacity \(capacity)); slide its context")
            Self.writeRow(newKeys, row: b, into: &keyStorage, at: rowLengths[b], capacity: capacity)
            Self.writeRow(newValues, row: b, into: &valueStorage, at: rowLengths[b], capacity: capacity)
            rowLengths[b] += 1
        }
        length = rowLengths.max() ?? 0
    }

    /// Makes row `row` hold exactly the positions of row `sourceRow` of `source` (a uniform
    /// cache with the same heads and widths, e.g. a prompt run alone): its keys and values are
    /// copied to positions `0..<source.length` and `rowLengths[row]` becomes `source.length`.
    public mutating func replaceRow(_ row: Int, with source: KeyValueCache, sourceRow: Int = 0) {
        checkPrecondition(row >= 0 && row < batch, "KeyValueCache.replaceRow: row \(row) is outside 0..<\(batch)")
        checkPrecondition(sourceRow >= 0 && sourceRow < source.batch && source.isUniform,
            "KeyValueCache.replaceRow: source row \(sourceRow) of a source with batch \(source.batch) and row lengths \(source.rowLengths.prefix(8)) (must be uniform)")
        checkPrecondition(source.keyValueHeads == keyValueHeads && source.headDimension == headDimension
                && source.valueDimension == valueDimension && source.length <= capacity,
            "KeyValueCache.replaceRow: source [B \(source.batch), Hkv \(source.keyValueHeads), length \(source.length), D \(source.headDimension), Dv \(source.valueDimension)] does not fit [B \(batch), Hkv \(keyValueHeads), capacity \(capacity), D \(headDimension), Dv \(valueDimension)]")
        let n = source.length
        Self.writeRow(source.keys, row: sourceRow, into: &keyStorage, intoRow: row, at: 0, capacity: capacity)
        Self.writeRow(source.values, row: sourceRow, into: &valueStorage, intoRow: row, at: 0, capacity: capacity)
        rowLengths[row] = n
        length = rowLengths.max() ?? 0
    }

    /// Row `row` alone: a uniform batch-1 cache of the same capacity holding that row's
    /// `rowLengths[row]` positions (a copy).
    public func row(_ row: Int) -> KeyValueCache {
        checkPrecondition(row >= 0 && row < batch, "KeyValueCache.row: row \(row) is outside 0..<\(batch)")
        var single = KeyValueCache(batch: 1, keyValueHeads: keyValueHeads, headDimension: headDimension,
                                   valueDimension: valueDimension, capacity: capacity)
        let n = rowLengths[row]
        guard n > 0 else { return single }
        let rows = row..<(row + 1)
        single.append(keys: keyStorage.sliced(axis: 0, rows).sliced(axis: 2, 0..<n),
                      values: valueStorage.sliced(axis: 0, rows).sliced(axis: 2, 0..<n))
        return single
    }

    /// Forgets every position (keeps the storage).
    public mutating func removeAll() {
        length = 0
        for b in 0..<batch { rowLengths[b] = 0 }
    }

    /// Drops the oldest `count` positions, moving the rest to the front (a sliding context).
    /// With RoPE the kept keys keep the rotation of their original positions, which is
    /// still correct because RoPE scores depend on relative offsets only; later tokens must
    /// then keep counting positions from where they were (see ``MultiHeadAttention``'s
    /// `positionOffset` parameter).
    public mutating func removeFirst(_ count: Int) {
        checkPrecondition(count >= 0 && count <= length, "KeyValueCache.removeFirst: \(count) is outside 0...\(length)")
        checkPrecondition(isUniform, "KeyValueCache.removeFirst: rows have different lengths \(rowLengths.prefix(8))")
        guard count > 0 else { return }
        let kept = length - count
        Self.shiftToFront(&keyStorage, dropping: count, keeping: kept, capacity: capacity)
        Self.shiftToFront(&valueStorage, dropping: count, keeping: kept, capacity: capacity)
        length = kept
        for b in 0..<batch { rowLengths[b] = kept }
    }

    // Copies batch row `row` of [B', Hkv, n, W] into batch row `intoRow` of [B, Hkv, capacity, W]
    // at position `start`.
    private static func writeRow(
        _ source: Tensor, row: Int, into storage: inout Tensor, intoRow: Int? = nil, at start: Int, capacity: Int
    ) {
        let (heads, n, width) = (source.shape[1], source.shape[2], source.shape[3])
        let target = intoRow ?? row
        source.withUnsafeBufferPointer { src in
            storage.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    let from = (row * heads + h) * n * width, to = ((target * heads + h) * capacity + start) * width
                    for i in 0..<(n * width) { dst[to + i] = src[from + i] }
                }
            }
        }
    }

    // Moves positions count..<count+kept of every [capacity, W] block to 0..<kept.
    private static func shiftToFront(_ storage: inout Tensor, dropping count: Int, keeping kept: Int, capacity: Int) {
        let groups = storage.shape[0] * storage.shape[1], width = storage.shape[3]
        storage.withUnsafeMutableBufferPointer { s in
            for g in 0..<groups {
                let base = g * capacity * width
                for i in 0..<(kept * width) { s[base + i] = s[base + count * width + i] }
            }
        }
    }

    // Copies [B, Hkv, n, W] into [B, Hkv, capacity, W] at position `start`.
    private static func write(_ source: Tensor, into storage: inout Tensor, at start: Int, capacity: Int) {
        let (groups, n, width) = (source.shape[0] * source.shape[1], source.shape[2], source.shape[3])
        source.withUnsafeBufferPointer { src in
            storage.withUnsafeMutableBufferPointer { dst in
                for g in 0..<groups {
                    let from = g * n * width, to = (g * capacity + start) * width
                    for i in 0..<(n * width) { dst[to + i] = src[from + i] }
                }
            }
        }
    }
}
