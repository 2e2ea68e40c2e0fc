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
    /// How many positions are filled (the position of the next token).
    public private(set) var length: Int = 0

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
    /// - Precondition: shapes match the cache and `n ≤ remainingCapacity`.
    public mutating func append(keys newKeys: Tensor, values newValues: Tensor) {
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
    }

    /// Forgets every position (keeps the storage).
    public mutating func removeAll() { length = 0 }

    /// Drops the oldest `count` positions, moving the rest to the front (a sliding context).
    /// With RoPE the kept keys keep the rotation of their original positions, which is
    /// still correct because RoPE scores depend on relative offsets only; later tokens must
    /// then keep counting positions from where they were (see ``MultiHeadAttention``'s
    /// `positionOffset` parameter).
    public mutating func removeFirst(_ count: Int) {
        checkPrecondition(count >= 0 && count <= length, "KeyValueCache.removeFirst: \(count) is outside 0...\(length)")
        guard count > 0 else { return }
        let kept = length - count
        Self.shiftToFront(&keyStorage, dropping: count, keeping: kept, capacity: capacity)
        Self.shiftToFront(&valueStorage, dropping: count, keeping: kept, capacity: capacity)
        length = kept
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
