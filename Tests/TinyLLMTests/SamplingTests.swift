import Attention
import Foundation
import Testing
import TinyLLM

@Suite struct SamplingTests {
    static let logits: [Float] = [0.5, 3.0, -1.0, 2.9, 3.0, 0.0, -.infinity, 1.0]

    @Test func greedyTakesTheFirstLargest() {
        var generator = SeededGenerator(seed: 0)
        #expect(TokenSampler.greedy.sample(Self.logits, generator: &generator) == 1, "ties go to the lower index")
    }

    @Test func topKOneAndTinyTopPAreGreedy() throws {
        var generator = SeededGenerator(seed: 0)
        let topK = try TokenSampler(temperature: 2, topK: 1)
        let topP = try TokenSampler(temperature: 2, topP: 1e-6)
        for _ in 0..<50 {
            #expect(topK.sample(Self.logits, generator: &generator) == 1)
            #expect(topP.sample(Self.logits, generator: &generator) == 1)
        }
    }

    @Test func topKRestrictsTheSupport() throws {
        var generator = SeededGenerator(seed: 3)
        let sampler = try TokenSampler(temperature: 5, topK: 3)
        var seen = Set<Int>()
        for _ in 0..<2000 { seen.insert(sampler.sample(Self.logits, generator: &generator)) }
        #expect(seen == [1, 3, 4], "top-3 support, saw \(seen.sorted())")
    }

    @Test func topPKeepsTheSmallestPrefixReachingP() throws {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (logits = log p): p = 0.75 keeps the first two.
        let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { Float(log(Double($0))) }
        var generator = SeededGenerator(seed: 9)
        let sampler = try TokenSampler(temperature: 1, topP: 0.75)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4000 { counts[sampler.sample(logits, generator: &generator)] += 1 }
        #expect(counts[2] == 0 && counts[3] == 0, "outside the nucleus: \(counts)")
        // Within the nucleus, renormalised: 0.5/0.8 = 0.625 (binomial σ ≈ 0.008 at n = 4000).
        let share = Double(counts[0]) / 4000
        #expect(abs(share - 0.625) < 0.04, "share of the top byte \(share), expected 0.625")
    }

    @Test func temperatureOneMatchesSoftmax() throws {
        let logits: [Float] = [1, 0, -1]
        var generator = SeededGenerator(seed: 4)
        let sampler = try TokenSampler(temperature: 1)
        var counts = [0, 0, 0]
        let n = 20_000
        for _ in 0..<n { counts[sampler.sample(logits, generator: &generator)] += 1 }
        let z = exp(1.0) + 1 + exp(-1.0)
        for (i, expected) in [exp(1.0) / z, 1 / z, exp(-1.0) / z].enumerated() {
            // 5σ of a binomial proportion at n = 20000 is at most 0.018.
            #expect(abs(Double(counts[i]) / Double(n) - expected) < 0.018, "byte \(i): \(counts[i]) of \(n), expected \(expected)")
        }
    }

    @Test func invalidSettingsThrow() {
        #expect(throws: TinyLLMError.self) { try TokenSampler(temperature: -1) }
        #expect(throws: TinyLLMError.self) { try TokenSampler(temperature: .nan) }
        #expect(throws: TinyLLMError.self) { try TokenSampler(topK: 0) }
        #expect(throws: TinyLLMError.self) { try TokenSampler(topP: 0) }
        #expect(throws: TinyLLMError.self) { try TokenSampler(topP: 1.5) }
    }
}

@Suite struct UTF8StreamTests {
    func run(_ bytes: [UInt8]) -> (chunks: [[UInt8]], all: [UInt8]) {
        var stream = UTF8Stream()
        var chunks = bytes.map { stream.push($0) }
        chunks.append(stream.finish())
        return (chunks, chunks.flatMap { $0 })
    }

    @Test func validTextPassesThroughAndWaitsForWholeCharacters() {
        let text = "aé€😀z"
        let (chunks, all) = run(Array(text.utf8))
        #expect(all == Array(text.utf8))
        // a | é (2 bytes: nothing, then both) | € (3) | 😀 (4) | z
        #expect(chunks.map(\.count) == [1, 0, 2, 0, 0, 3, 0, 0, 0, 4, 1, 0], "chunk sizes \(chunks.map(\.count))")
    }

    @Test(arguments: [
        ([0x80] as [UInt8], "\u{FFFD}"),                          // stray continuation
        ([0xC3, 0x41], "\u{FFFD}A"),                              // truncated, then ASCII
        ([0xE2, 0x82], "\u{FFFD}"),                               // truncated at the end
        ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),         // surrogate (ED A0 invalid)
        ([0xC0, 0xAF], "\u{FFFD}\u{FFFD}"),                       // overlong lead
        ([0xF5, 0x41], "\u{FFFD}A"),                              // beyond U+10FFFF
        ([0xE2, 0x82, 0xE2, 0x82, 0xAC], "\u{FFFD}€"),            // broken then whole
    ])
    func invalidSequencesBecomeReplacementCharacters(bytes: [UInt8], expected: String) {
        let all = run(bytes).all
        #expect(String(decoding: all, as: UTF8.self) == expected, "\(bytes) → \(all)")
        #expect(all == Array(expected.utf8), "\(bytes): output must be exactly the expected UTF-8")
    }

    @Test func randomBytesAlwaysGiveValidUTF8() {
        var generator = SeededGenerator(seed: 2)
        for trial in 0..<200 {
            let bytes = (0..<64).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let all = run(bytes).all
            #expect(Array(String(decoding: all, as: UTF8.self).utf8) == all, "trial \(trial): invalid UTF-8 from \(bytes)")
            // Valid input is never altered: decoding with replacement gives the same string.
            #expect(String(decoding: all, as: UTF8.self) == String(decoding: bytes, as: UTF8.self), "trial \(trial)")
        }
    }
}
