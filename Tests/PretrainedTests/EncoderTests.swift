import Attention
import Foundation
import Pretrained
import Testing

/// The encoder on a tiny random BERT written to disk (runs without the real model).
@Suite struct EncoderTests {
    static let sequences: [[Int]] = [
        [2, 5, 3], [2, 9, 17, 22, 30, 3], [2, 3], [2] + (5..<25).map { $0 % 40 } + [3], [2, 11, 11, 11, 3], [2, 7, 3],
    ]

    /// Error budget: Float32 with reductions of length ≤ 24 in each of ~12 chained steps per
    /// layer; measured max error against Float64 is ~10⁻⁶ on these O(1) activations, so
    /// 2·10⁻⁵ (about 100 ulps at magnitude 1) is tight enough to catch any formula change.
    @Test(arguments: sequences.indices)
    func matchesTheFloat64Definition(index: Int) throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let ids = Self.sequences[index]
        let encoding = tiny.model.encode([ids], returningAttention: true)
        let (hidden, attention) = BertFloat64Reference.forward(tiny.model, ids: ids)
        let h = TinyBert.configuration.hiddenSize
        var worst = 0.0
        for i in ids.indices { for j in 0..<h { worst = max(worst, abs(Double(encoding.hiddenStates[i, j]) - hidden[i][j])) } }
        #expect(worst <= 2e-5, "sequence \(index) (length \(ids.count)): hidden max |Δ| = \(worst)")
        var worstWeight = 0.0
        for (layer, maps) in encoding.attentions![0].enumerated() {
            for head in 0..<TinyBert.configuration.headCount {
                for i in ids.indices {
                    for j in ids.indices {
                        worstWeight = max(worstWeight, abs(Double(maps[head, i, j]) - attention[layer][head][i][j]))
                    }
                }
            }
        }
        #expect(worstWeight <= 2e-5, "sequence \(index): attention max |Δ| = \(worstWeight)")
    }

    /// Key padding must hide other sequences and padding completely. Alone, a short sequence's
    /// products take the few-row GEMM (m ≤ 4, vector partial sums) and in the batch the packed
    /// one (sequential sums), so the two may differ by rounding: each is within ~10⁻⁶ of Float64
    /// (see above) and they differ by up to 1.5·10⁻⁶ with the 16-wide AVX-512 kernels. The bound
    /// is the file's Float64 budget, 2·10⁻⁵; a leak through the padding would be O(10⁻¹).
    @Test func aBatchEqualsEachSequenceAlone() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let batch = tiny.model.encode(Self.sequences)
        for (s, ids) in Self.sequences.enumerated() {
            let alone = tiny.model.encode([ids]).hiddenStates
            let together = batch.hiddenStates(ofSequence: s)
            let difference = zip(alone.scalars, together.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(together.shape == alone.shape && difference <= 2e-5, "sequence \(s): max |Δ| = \(difference)")
        }
    }

    @Test func attentionRowsAreDistributions() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let encoding = tiny.model.encode(Self.sequences, returningAttention: true)
        for (s, maps) in encoding.attentions!.enumerated() {
            let length = Self.sequences[s].count
            #expect(maps.count == TinyBert.configuration.layerCount)
            for (layer, map) in maps.enumerated() {
                #expect(map.shape == [TinyBert.configuration.headCount, length, length], "sequence \(s) layer \(layer)")
                for row in 0..<(map.count / length) {
                    let sum = map.scalars[(row * length)..<((row + 1) * length)].reduce(0, +)
                    #expect(abs(sum - 1) <= 1e-5, "sequence \(s) layer \(layer) row \(row): sum \(sum)")
                }
            }
        }
    }

    @Test func sentenceEncoderLoadsTheFolderAndNormalises() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let encoder = try SentenceEncoder(modelDirectory: tiny.folder)
        #expect(encoder.pooling == SentencePooling(mode: .mean, normalizes: true))
        let texts = ["the cat was", "it!", "", "a b c d e f g h i j k l m n o p q r s t u v w x y z"]
        let vectors = encoder.embed(texts, batchSize: 3)
        for (index, vector) in vectors.enumerated() {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) <= 1e-5, "text \(index): norm \(norm)")
            // Mean pooling by hand from the hidden states.
            let ids = encoder.tokenizer.encode(texts[index])
            let states = encoder.model.encode([ids]).hiddenStates
            var mean = [Float](repeating: 0, count: 16)
            for i in ids.indices { for j in 0..<16 { mean[j] += states[i, j] / Float(ids.count) } }
            #expect(cosineSimilarity(mean, vector) >= 0.99999, "text \(index)")
        }
        // The sequence limit is the position table's size when no sentence_bert_config.json says otherwise.
        #expect(encoder.tokenizer.encode(String(repeating: "a ", count: 100)).count == 24)
    }
}

/// How `SentenceEncoder.embed` splits a length-sorted batch between threads.
@Suite struct EncoderShardTests {
    @Test func shardsAreContiguousNonEmptyAndCoverTheBatch() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let lengths = (0..<Int.random(in: 1...40, using: &generator)).map { _ in Int.random(in: 1...256, using: &generator) }
                .sorted(by: >)
            let count = Int.random(in: 1...8, using: &generator)
            let shards = SentenceEncoder.shards(lengths: lengths, count: count)
            #expect(shards.count == min(count, lengths.count), "\(lengths) into \(count): \(shards)")
            #expect(shards.first?.lowerBound == 0 && shards.last?.upperBound == lengths.count)
            #expect(shards.allSatisfy { !$0.isEmpty })
            #expect(zip(shards, shards.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
    }

    /// Cuts follow the token counts: 32 equal sentences split evenly, and one long sequence
    /// beside many short ones gets a shard of its own.
    @Test func shardsBalanceTokens() {
        #expect(SentenceEncoder.shards(lengths: Array(repeating: 12, count: 32), count: 2) == [0..<16, 16..<32])
        #expect(SentenceEncoder.shards(lengths: Array(repeating: 12, count: 32), count: 4) == [0..<8, 8..<16, 16..<24, 24..<32])
        #expect(SentenceEncoder.shards(lengths: [256] + Array(repeating: 10, count: 20), count: 2) == [0..<1, 1..<21])
        #expect(SentenceEncoder.shards(lengths: [5, 4, 3], count: 1) == [0..<3])
        #expect(SentenceEncoder.shards(lengths: [5], count: 4) == [0..<1])
    }
}
