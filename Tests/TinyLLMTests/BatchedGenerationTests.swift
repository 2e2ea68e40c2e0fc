import Attention
import Testing
import TinyLLM

/// Several prompts decoded in one batch give, row for row, exactly what each prompt gives alone.
@Suite struct BatchedGenerationTests {
    static let configurations: [TinyLLMConfiguration] = [
        .tiny,                                                                                   // learned positions, context 16
        TinyLLMConfiguration(layers: 2, heads: 4, keyValueHeads: 2, width: 32, contextLength: 16, positions: .rotary),
        TinyLLMConfiguration(layers: 1, heads: 2, keyValueHeads: 1, width: 16, contextLength: 7),
    ]

    /// Prompts of different lengths: empty (starts from a newline), one byte, several, one
    /// longer than every context above (its window slides at the prompt), and non-ASCII bytes.
    static let prompts: [[UInt8]] = [
        Array("Shall I".utf8), [], Array("T".utf8), Array("Rough winds do shake the darling buds of May".utf8),
        Array("Thou art".utf8), [0xC3, 0xA9, 0xFF, 10], Array("And summer's lease".utf8),
    ]

    /// Random weights, temperature > 0 with top-k and top-p; 3·context + 5 bytes so every row
    /// outgrows the context several times, at different steps. 7 rows: more than the four rows
    /// of the few-row kernel's register block.
    @Test(arguments: configurations)
    func batchedEqualsOneAtATime(configuration: TinyLLMConfiguration) throws {
        var generator = SeededGenerator(seed: 3)
        let model = TinyLLMModel(configuration: configuration, generator: &generator)
        let sampler = try TokenSampler(temperature: 1.3, topK: 40, topP: 0.97)
        let maxBytes = 3 * configuration.contextLength + 5
        let sameLength = (1...6).map { Array("ROMEO \($0):".utf8) }       // every row slides on the same steps
        for (seed, prompts): (UInt64, [[UInt8]]) in [(0, Self.prompts), (9, Self.prompts), (2, sameLength)] {
            var streamed = [[UInt8]](repeating: [], count: prompts.count)
            let batched = model.generate(prompts: prompts, maxBytes: maxBytes, sampler: sampler, seed: seed,
                                         onByte: { row, byte in streamed[row].append(byte) })
            #expect(batched == streamed)
            for (row, prompt) in prompts.enumerated() {
                let alone = model.generate(prompt: prompt, maxBytes: maxBytes, sampler: sampler, seed: seed)
                #expect(alone.count == maxBytes)
                #expect(batched[row] == alone, "\(configuration.summary) seed \(seed) row \(row): batched \(batched[row]) vs alone \(alone)")
            }
        }
    }

    /// The batch decoder's logits are bit-identical to the single decoder's, step by step, also
    /// when rows append chunks of several bytes and slide at different times.
    @Test(arguments: configurations)
    func batchLogitsEqualSingleLogitsBitForBit(configuration: TinyLLMConfiguration) {
        var generator = SeededGenerator(seed: 5)
        let model = TinyLLMModel(configuration: configuration, generator: &generator)
        let rows = 6
        var batch = TinyLLMBatchDecoder(model: model, batch: rows)
        var singles = (0..<rows).map { _ in TinyLLMDecoder(model: model) }
        var random = SeededGenerator(seed: 8)
        for step in 0..<(4 * configuration.contextLength) {
            // Mostly one byte per row; now and then a chunk of 2–5 bytes (a prompt, a paste).
            let chunks = (0..<rows).map { row -> [Int] in
                let count = (step == 0 || (step + row) % 11 == 0) ? 1 + (row + step) % 5 : 1
                return (0..<count).map { _ in Int(random.next() % 256) }
            }
            let got = batch.append(chunks)
            for row in 0..<rows {
                let expected = singles[row].append(chunks[row])
                #expect(got[row] == expected, "\(configuration.summary) step \(step) row \(row)")
                #expect(batch.windowStarts[row] == singles[row].windowStart)
            }
        }
    }

    /// Rows whose windows start together (prompts of one length, then one byte per step, so
    /// every refill happens on the same step) run their prompts and refills as one batch; the
    /// logits still equal each row's alone, bit for bit.
    @Test(arguments: configurations)
    func rowsRefilledTogetherEqualSingleLogitsBitForBit(configuration: TinyLLMConfiguration) {
        var generator = SeededGenerator(seed: 6)
        let model = TinyLLMModel(configuration: configuration, generator: &generator)
        let rows = 9
        var batch = TinyLLMBatchDecoder(model: model, batch: rows)
        var singles = (0..<rows).map { _ in TinyLLMDecoder(model: model) }
        var random = SeededGenerator(seed: 12)
        for step in 0..<(3 * configuration.contextLength) {
            let chunks = (0..<rows).map { _ in (0..<(step == 0 ? 5 : 1)).map { _ in Int(random.next() % 256) } }
            let got = batch.append(chunks)
            for row in 0..<rows {
                #expect(got[row] == singles[row].append(chunks[row]), "\(configuration.summary) step \(step) row \(row)")
            }
        }
    }

    @Test func zeroBytesAndStop() {
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)
        #expect(model.generate(prompts: [[1], [2, 3]], maxBytes: 0, sampler: .greedy) == [[], []])
        var polls = 0
        let stopped = model.generate(prompts: [[1], [2, 3]], maxBytes: 50, sampler: .greedy,
                                     shouldStop: { polls += 1; return polls > 3 })
        #expect(stopped.map(\.count) == [3, 3])
    }
}
