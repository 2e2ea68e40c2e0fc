import Attention
import Foundation
import Testing
import TinyLLM

/// Opt-in measurement (set `TINYLLM_MEASURE=1`, release build): generation bytes/s with and
/// without the KV cache for the baby shape at context 64 and 1024, from a prompt of half the context
/// until the window is full. With the cache a byte costs O(context); without,
/// the whole window is recomputed, O(context²) per byte.
@Suite struct GenerationThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["TINYLLM_MEASURE"] == "1"

    @Test(.enabled(if: enabled), arguments: [64, 1024])
    func bytesPerSecondWithAndWithoutCache(context: Int) throws {
        var configuration = TinyLLMConfiguration.baby
        configuration.contextLength = context
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: configuration, generator: &generator)
        var rates: [Bool: Double] = [:]
        // A prompt of half the context, then bytes until the window is (nearly) full, so both
        // modes work at windows of L/2 ... L. The prompt's own pass is excluded from the timing
        // by timing a one-byte run first and subtracting it.
        let prompt = [UInt8](repeating: 97, count: context / 2)
        for usesCache in [true, false] {
            let bytes = usesCache ? context / 2 : Swift.min(context / 2, 32)
            let promptOnly = Date()
            _ = model.generate(prompt: prompt, maxBytes: 1, sampler: .greedy, usesCache: usesCache)
            let promptSeconds = Date().timeIntervalSince(promptOnly)
            let started = Date()
            let out = model.generate(prompt: prompt, maxBytes: bytes + 1, sampler: .greedy, usesCache: usesCache)
            rates[usesCache] = Double(out.count - 1) / Swift.max(Date().timeIntervalSince(started) - promptSeconds, 1e-9)
        }
        print(String(format: "TINYLLM_MEASURE generation baby shape, context %d: KV cache %.0f bytes/s, no cache %.0f bytes/s (%.1fx)",
                     context, rates[true]!, rates[false]!, rates[true]! / rates[false]!))
        #expect(rates[true]! > rates[false]!, "the cache should be faster at context \(context)")
    }
}
