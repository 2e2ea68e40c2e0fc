import Attention

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Picks the next byte from logits: temperature, then top-k, then top-p (nucleus), then a
/// draw from the renormalised distribution.
///
/// ```
/// pᵥ ∝ exp((ℓᵥ − max ℓ) / T)                      (T = 0: argmax, no randomness)
/// top-k: keep the k most probable bytes
/// top-p: keep the smallest most-probable prefix whose mass reaches p
/// ```
/// Ties are broken by the lower byte value, so sampling is a pure function of the logits and
/// the generator state.
public struct TokenSampler: Sendable, Equatable {
    /// `T ≥ 0`; 0 means greedy.
    public var temperature: Float
    /// Keep only the `k` most probable bytes (nil: all 256).
    public var topK: Int?
    /// Keep the smallest set of most probable bytes whose probability reaches `p` (nil: 1).
    public var topP: Float?

    /// - Throws: ``TinyLLMError/invalidArgument(_:)`` for a negative or non-finite
    ///   temperature, `k < 1`, or `p` outside (0, 1].
    public init(temperature: Float = 0.8, topK: Int? = nil, topP: Float? = nil) throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw TinyLLMError.invalidArgument("temperature must be a finite number ≥ 0 (0 is greedy), got \(temperature)")
        }
        if let topK, topK < 1 { throw TinyLLMError.invalidArgument("top-k must be ≥ 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw TinyLLMError.invalidArgument("top-p must be in (0, 1], got \(topP)") }
        self.temperature = temperature; self.topK = topK; self.topP = topP
    }

    /// Greedy decoding (argmax).
    public static let greedy = TokenSampler(checkedTemperature: 0, topK: nil, topP: nil)

    /// For values already known to be valid (no `try!` in library code).
    private init(checkedTemperature temperature: Float, topK: Int?, topP: Float?) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
    }

    /// The chosen byte for `logits` (`[256]`, or any length `V`).
    public func sample(_ logits: [Float], generator: inout SeededGenerator) -> Int {
        checkPrecondition(!logits.isEmpty, "TokenSampler.sample: empty logits")
        // Order by logit, highest first; ties by index so the result is deterministic.
        let order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if temperature == 0 { return order[0] }
        let kept = order.prefix(topK.map { Swift.min($0, order.count) } ?? order.count)
        let top = Double(logits[order[0]])
        var weights = kept.map { exp((Double(logits[$0]) - top) / Double(temperature)) }
        let total = weights.reduce(0, +)
        var count = weights.count
        if let topP {
            var mass = 0.0
            for (i, w) in weights.enumerated() {
                mass += w / total
                if mass >= Double(topP) { count = i + 1; break }
            }
        }
        weights = Array(weights.prefix(count))
        let draw = Double(generator.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * weights.reduce(0, +)
        var cumulative = 0.0
        for (i, w) in weights.enumerated() {
            cumulative += w
            if draw < cumulative { return kept[kept.startIndex + i] }
        }
        return kept[kept.startIndex + count - 1]
    }
}
