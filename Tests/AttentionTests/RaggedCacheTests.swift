import Attention
import Testing

/// A KV cache whose batch rows have different lengths, and the one-token-per-row attention step
/// over it (what batched generation uses): each row equals that row decoded alone.
@Suite struct RaggedCacheTests {
    /// Rows of lengths 5, 1 and 8 (from separate batch-1 caches) stepped together equal, bit for
    /// bit, each row stepped alone; a row left out of the step keeps its length. GQA and RoPE, so
    /// per-row rotation positions are exercised.
    @Test(arguments: [AttentionPositionalEncoding.none, .rotary(headDimension: 4)])
    func raggedStepEqualsEachRowAlone(encoding: AttentionPositionalEncoding) {
        var generator = SeededGenerator(seed: 4)
        let layer = MultiHeadAttention(modelSize: 16, heads: 4, keyValueHeads: 2, positionalEncoding: encoding, generator: &generator)
        let lengths = [5, 1, 8], capacity = 9
        var singles: [KeyValueCache] = lengths.enumerated().map { row, n in
            var cache = layer.makeCache(batch: 1, capacity: capacity)
            _ = layer(.randomNormal([1, n, 16], seed: UInt64(10 + row)), cache: &cache)
            return cache
        }
        var ragged = layer.makeCache(batch: 3, capacity: capacity)
        for row in 0..<3 { ragged.replaceRow(row, with: singles[row]) }
        #expect(ragged.rowLengths == lengths && ragged.length == 8 && !ragged.isUniform)
        for row in 0..<3 {
            #expect(ragged.row(row).keys.scalars == singles[row].keys.scalars)
            #expect(ragged.row(row).values.scalars == singles[row].values.scalars)
        }

        let x = Tensor.randomNormal([3, 1, 16], seed: 99)
        let rows = [true, false, true]
        let stepped = MatrixMultiply.withRowIndependentProducts {
            layer(nextTokens: x, raggedCache: &ragged, rows: rows)
        }
        #expect(ragged.rowLengths == [6, 1, 9])
        for row in [0, 2] {
            let alone = layer(x.sliced(axis: 0, row..<(row + 1)), cache: &singles[row])
            #expect(stepped.sliced(axis: 0, row..<(row + 1)).scalars == alone.scalars, "row \(row)")
            #expect(ragged.row(row).keys.scalars == singles[row].keys.scalars, "row \(row) keys")
        }
    }

    /// The few-row kernel makes every row of a product independent of the others: row r of an
    /// m-row product equals the one-row product, bit for bit, for m on both sides of the
    /// four-row register block.
    @Test(arguments: [1, 3, 4, 5, 9, 33])
    func rowIndependentProductsMatchOneRowProducts(rows m: Int) {
        let a = Tensor.randomNormal([m, 37], seed: 5), w = Tensor.randomNormal([29, 37], seed: 6)
        let all = MatrixMultiply.withRowIndependentProducts { a.matmul(w, transposingOther: true) }
        for r in 0..<m {
            let one = a.sliced(axis: 0, r..<(r + 1)).matmul(w, transposingOther: true)
            #expect(all.sliced(axis: 0, r..<(r + 1)).scalars == one.scalars, "m \(m) row \(r)")
        }
    }
}
