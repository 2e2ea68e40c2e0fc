import Attention
import Testing

@Suite struct KVCacheTests {
    /// (case, chunk size): feeding the sequence through a cache `chunk` tokens at a time.
    static let decodingCases: [(AttentionCase, Int)] = [
        (AttentionCase(batch: 1, length: 10, modelSize: 8, heads: 2, keyValueHeads: 2, causal: true), 1),
        (AttentionCase(batch: 2, length: 10, modelSize: 12, heads: 3, keyValueHeads: 3, bias: false, causal: true), 3),
        (AttentionCase(batch: 2, length: 11, modelSize: 16, heads: 4, keyValueHeads: 2, causal: true, positions: "rope"), 1),
        (AttentionCase(batch: 1, length: 11, modelSize: 16, heads: 4, keyValueHeads: 1, causal: true, positions: "rope"), 3),
        (AttentionCase(batch: 2, length: 9, modelSize: 12, heads: 6, keyValueHeads: 2, causal: true, positions: "alibi"), 1),
        (AttentionCase(batch: 1, length: 13, modelSize: 10, heads: 5, keyValueHeads: 5, causal: true, positions: "alibi"), 3),
    ]

    /// Token-by-token (and chunked) decoding equals one full causal pass, row for row.
    @Test(arguments: decodingCases)
    func cachedDecodingEqualsFullCausalPass(_ c: AttentionCase, _ chunk: Int) {
        let layer = c.layer(), x = c.input()
        let full = layer(x, mask: .causal)
        // Capacity larger than the sequence: the unused tail of the storage must not leak in.
        var cache = layer.makeCache(batch: c.batch, capacity: c.length + 5)
        var pieces: [Tensor] = []
        var start = 0
        while start < c.length {
            let end = min(c.length, start + chunk)
            pieces.append(layer(x.sliced(axis: 1, start..<end), cache: &cache))
            start = end
        }
        #expect(cache.length == c.length, "\(c) chunk \(chunk)")
        let incremental = Tensor.concatenated(pieces, axis: 1)
        let error = incremental.maxAbsDifference(full)
        #expect(error <= 1e-5, "\(c) chunk \(chunk): max error \(error)")
        // And both equal the Float64 layer.
        let reference = MultiHeadReference.forward(layer, x: x, options: c.referenceOptions).output
        #expect(MultiHeadReference.maxError(incremental, reference) <= MultiHeadAttentionTests.tolerance, "\(c) chunk \(chunk)")
    }

    @Test func appendWritesPositionsInOrder() {
        var cache = KeyValueCache(batch: 2, keyValueHeads: 3, headDimension: 4, valueDimension: 5, capacity: 7)
        let k1 = Tensor.randomNormal([2, 3, 2, 4], seed: 1), v1 = Tensor.randomNormal([2, 3, 2, 5], seed: 2)
        let k2 = Tensor.randomNormal([2, 3, 3, 4], seed: 3), v2 = Tensor.randomNormal([2, 3, 3, 5], seed: 4)
        cache.append(keys: k1, values: v1)
        let snapshot = cache
        cache.append(keys: k2, values: v2)
        #expect(cache.length == 5 && cache.remainingCapacity == 2)
        #expect(cache.keys == Tensor.concatenated([k1, k2], axis: 2))
        #expect(cache.values == Tensor.concatenated([v1, v2], axis: 2))
        // Value semantics: the earlier copy is untouched.
        #expect(snapshot.length == 2 && snapshot.keys == k1 && snapshot.values == v1)

        cache.removeFirst(3)
        #expect(cache.length == 2)
        #expect(cache.keys == k2.sliced(axis: 2, 1..<3))
        #expect(cache.values == v2.sliced(axis: 2, 1..<3))
        cache.removeAll()
        #expect(cache.length == 0 && cache.keys.shape == [2, 3, 0, 4])
    }

    /// A cache filled by a prompt can be copied and continued in two directions.
    @Test func copiedCacheContinuesIndependently() {
        let c = AttentionCase(batch: 1, length: 6, modelSize: 8, heads: 2, keyValueHeads: 1, causal: true, positions: "rope")
        let layer = c.layer(), x = c.input()
        var cache = layer.makeCache(batch: 1, capacity: 8)
        _ = layer(x.sliced(axis: 1, 0..<4), cache: &cache)
        var branch = cache
        let a = layer(x.sliced(axis: 1, 4..<5), cache: &cache)
        let b = layer(x.sliced(axis: 1, 5..<6), cache: &branch)
        let full = layer(x, mask: .causal)
        #expect(a.maxAbsDifference(full.sliced(axis: 1, 4..<5)) <= 1e-5)
        // `b` is token 5 placed at position 4: equal to a full pass over tokens 0..<4 then 5.
        let skipped = Tensor.concatenated([x.sliced(axis: 1, 0..<4), x.sliced(axis: 1, 5..<6)], axis: 1)
        #expect(b.maxAbsDifference(layer(skipped, mask: .causal).sliced(axis: 1, 4..<5)) <= 1e-5)
    }

    /// Appending through the layer writes into the preallocated storage: the buffer never
    /// moves, so decoding never copies the cache (no O(L²) traffic over a sequence).
    @Test func decodingAppendsInPlace() {
        let c = AttentionCase(batch: 2, length: 8, modelSize: 8, heads: 2, keyValueHeads: 1, causal: true, positions: "rope")
        var generator = SeededGenerator(seed: 1)
        let block = TransformerBlock(modelSize: 8, heads: 2, keyValueHeads: 1, positionalEncoding: c.encoding, generator: &generator)
        var cache = block.attention.makeCache(batch: 2, capacity: 8)
        func address(_ t: Tensor) -> UnsafePointer<Float>? { t.withUnsafeBufferPointer { $0.baseAddress } }
        let keys = address(cache.keyStorage), values = address(cache.valueStorage)
        let x = c.input()
        for i in 0..<8 {
            _ = block(x.sliced(axis: 1, i..<(i + 1)), cache: &cache)
            // Checked every step: a copy-and-free could land back on the old address later.
            #expect(address(cache.keyStorage) == keys && address(cache.valueStorage) == values, "step \(i)")
        }
        #expect(cache.length == 8)
    }

    /// The example in docs/notes/layers.md, checked.
    @Test func documentationExample() {
        var generator = SeededGenerator(seed: 42)
        let block = TransformerBlock(modelSize: 128, heads: 8, keyValueHeads: 2,
                                     positionalEncoding: .rotary(headDimension: 16), generator: &generator)
        let x = Tensor.randomNormal([1, 10, 128], seed: 1)
        let full = block(x, mask: .causal)
        var cache = block.attention.makeCache(batch: 1, capacity: 64)
        let prompt = block(x.sliced(axis: 1, 0..<7), cache: &cache)
        let next = block(x.sliced(axis: 1, 7..<8), cache: &cache)
        #expect(prompt.maxAbsDifference(full.sliced(axis: 1, 0..<7)) <= 1e-5)
        #expect(next.maxAbsDifference(full.sliced(axis: 1, 7..<8)) <= 1e-5)
        let parts = block.attention.intermediates(x, mask: .causal)
        #expect(parts.weights.shape == [1, 8, 10, 10])
        let cross = MultiHeadAttention(modelSize: 128, heads: 8, contextSize: 96, generator: &generator)
        let y = cross(x, context: Tensor.randomNormal([1, 33, 96], seed: 2))
        #expect(y.shape == [1, 10, 128])
    }

    @Test func overflowingTheCacheStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var cache = KeyValueCache(batch: 1, keyValueHeads: 1, headDimension: 2, capacity: 2)
            cache.append(keys: .zeros([1, 1, 3, 2]), values: .zeros([1, 1, 3, 2]))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("3 new positions do not fit (length 0, capacity 2)"), "stderr: \(message)")
    }
}
