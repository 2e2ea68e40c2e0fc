import Attention
import Foundation
import Testing
import TinyLLM

@Suite struct GenerationTests {
    /// A tiny model trained briefly, so its greedy choices are clear rather than near-ties.
    static func trainedModel(_ configuration: TinyLLMConfiguration) throws -> TinyLLMModel {
        var trainer = TinyLLMTrainer(configuration: configuration, options: testOptions(steps: 25))
        let corpus = makeTestCorpus()
        while !trainer.isFinished { try trainer.trainStep(corpus: corpus) }
        return trainer.model
    }

    static let configurations: [TinyLLMConfiguration] = [
        .tiny,
        TinyLLMConfiguration(layers: 2, heads: 4, keyValueHeads: 2, width: 32, contextLength: 16, positions: .rotary),
        TinyLLMConfiguration(layers: 1, heads: 2, keyValueHeads: 1, width: 16, contextLength: 7),
    ]

    /// Greedy decoding with the KV cache picks exactly the bytes that recomputing the whole
    /// window picks, well past the context length (so the window slides several times).
    @Test(arguments: configurations)
    func cachedGreedyEqualsFullRecompute(configuration: TinyLLMConfiguration) throws {
        let model = try Self.trainedModel(configuration)
        let prompt = Array("Shall I".utf8)
        let length = configuration.contextLength * 4 + 3
        let cached = model.generate(prompt: prompt, maxBytes: length, sampler: .greedy, usesCache: true)
        let recomputed = model.generate(prompt: prompt, maxBytes: length, sampler: .greedy, usesCache: false)
        #expect(cached == recomputed, "\(configuration.summary): cached \(String(decoding: cached, as: UTF8.self).debugDescription) vs recomputed \(String(decoding: recomputed, as: UTF8.self).debugDescription)")
    }

    /// The decoder's logits equal the full forward's last row at every step (to rounding).
    @Test(arguments: configurations)
    func cachedLogitsMatchFullForward(configuration: TinyLLMConfiguration) throws {
        var generator = SeededGenerator(seed: 11)
        let model = TinyLLMModel(configuration: configuration, generator: &generator)
        var cached = TinyLLMDecoder(model: model, usesCache: true)
        var full = TinyLLMDecoder(model: model, usesCache: false)
        let bytes = Array("Rough winds do shake the darling buds of May".utf8).map(Int.init)
        var worst: Float = 0
        for (i, byte) in bytes.enumerated() {
            let chunk = i == 0 ? [byte, byte] : [byte]       // the first call appends two bytes
            let a = cached.append(chunk), b = full.append(chunk)
            for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
            #expect(cached.windowStart == full.windowStart)
        }
        #expect(worst < 1e-4, "\(configuration.summary): cached vs full logits differ by \(worst)")
    }

    @Test func windowSlidesToThreeQuartersAndStaysWithinContext() {
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)    // context 16
        var decoder = TinyLLMDecoder(model: model)
        #expect(decoder.keptAfterSlide == 12)
        _ = decoder.append(Array(repeating: 65, count: 16))
        #expect(decoder.windowStart == 0)
        _ = decoder.append([66])
        #expect(decoder.windowStart == 17 - 12, "window start \(decoder.windowStart)")
        _ = decoder.append(Array(repeating: 67, count: 40))          // a chunk longer than the context
        #expect(decoder.tokens.count - decoder.windowStart == 12)
    }

    @Test func sameSeedSameText() throws {
        let model = try Self.trainedModel(.tiny)
        let sampler = try TokenSampler(temperature: 1.0, topK: 20, topP: 0.95)
        let a = model.generate(prompt: Array("Thou".utf8), maxBytes: 40, sampler: sampler, seed: 5)
        let b = model.generate(prompt: Array("Thou".utf8), maxBytes: 40, sampler: sampler, seed: 5)
        let c = model.generate(prompt: Array("Thou".utf8), maxBytes: 40, sampler: sampler, seed: 6)
        #expect(a == b && a.count == 40)
        #expect(a != c, "different seeds gave the same 40 bytes")
    }

    @Test func emptyPromptAndZeroBytes() {
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)
        #expect(model.generate(prompt: [], maxBytes: 5, sampler: .greedy).count == 5)
        #expect(model.generate(prompt: [1], maxBytes: 0, sampler: .greedy).isEmpty)
        var stops = 0
        let stopped = model.generate(prompt: [1], maxBytes: 50, sampler: .greedy, shouldStop: { stops += 1; return stops > 3 })
        #expect(stopped.count == 3)
    }
}
