import Attention

/// Seed 003's "sat" row. The document writes `softmax([0.1, 0.8, 0.2, 0.05, 0.05, 0.9])` and
/// gives `[0.05, 0.25, 0.10, 0.02, 0.02, 0.56]`; the true softmax of those scores is much
/// flatter, because the scores are close together. Both are shown, plus the sharpening
/// (scores ÷ τ) that would make "mat" get the document's 56%.
public struct SatExample: Sendable {
    public static let tokens = ["The", "cat", "sat", "on", "the", "mat"]
    public static let scores: [Float] = [0.1, 0.8, 0.2, 0.05, 0.05, 0.9]
    public static let documentWeights: [Float] = [0.05, 0.25, 0.10, 0.02, 0.02, 0.56]

    /// `softmax(scores)` by the engine (`attentionWeights` with a one-hot query picking out the
    /// scores as keys, scale 1), exactly what the document's formula asks for.
    public var softmax: [Float]
    /// The temperature τ with `softmax(scores/τ)[mat] = 0.56`.
    public var temperature: Float
    public var sharpened: [Float]

    public static func compute() -> SatExample {
        let softmax = weights(scale: 1)
        // softmax(s/τ)[mat] falls as τ grows: bisect on log τ.
        var low: Float = 0.01, high: Float = 10
        for _ in 0..<60 {
            let mid = (low * high).squareRoot()
            if weights(scale: 1 / mid)[5] > documentWeights[5] { low = mid } else { high = mid }
        }
        let tau = (low * high).squareRoot()
        return SatExample(softmax: softmax, temperature: tau, sharpened: weights(scale: 1 / tau))
    }

    /// The "sat" row through the engine: the query is [1] and each key is its score, so
    /// `Q·Kᵀ` is the score row itself.
    static func weights(scale: Float) -> [Float] {
        let query = Tensor(shape: [1, 1, 1, 1], scalars: [1])
        let keys = Tensor(shape: [1, 1, scores.count, 1], scalars: scores)
        return attentionWeights(queries: query, keys: keys, scale: scale).scalars
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        let t = Self.tokens
        var lines = [
            "Sentence: \"The cat sat on the mat\". The document's score row for \"sat\" (S = Q·Kᵀ) and its weights:",
        ]
        let table = Tensor(shape: [3, 6], scalars: Self.scores + Self.documentWeights + softmax)
        lines += TerminalTable(table, rowLabels: ["score", "document", "softmax"], columnLabels: t).render(style: style)
        lines += ["", "As a heatmap (document's illustrative row above the true softmax of its scores):"]
        lines += TerminalHeatmap(Tensor(shape: [2, 6], scalars: Self.documentWeights + softmax),
                                 rowLabels: ["document", "softmax"], columnLabels: t).render(style: style)
        lines += [
            "",
            "The document's weights are illustrative: softmax([0.1, 0.8, 0.2, 0.05, 0.05, 0.9]) is",
            "  " + NumberFormat.vector(softmax) + ": \"sat\" pays \(NumberFormat.percent(softmax[5])) to \"mat\", not 56%,",
            "  because the scores differ by at most 0.85 and e^0.85 ≈ 2.3. (Scaling by √d_k would flatten it further.)",
            "  To give \"mat\" 56% the scores would have to be divided by τ = \(NumberFormat.fixed(temperature))"
                + " (multiplied by \(NumberFormat.fixed(1 / temperature))):",
            "  softmax(S/τ) = " + NumberFormat.vector(sharpened) + " — closer to the document's, still not equal.",
            "",
            "New representation, the document's weights:",
            "  new_sat = " + sum(Self.documentWeights),
            "With the true softmax:",
            "  new_sat = " + sum(softmax),
        ]
        let json: JSONValue = .object([
            ("tokens", .strings(t)), ("scores", .floats(Self.scores)),
            ("documentWeights", .floats(Self.documentWeights)), ("softmax", .floats(softmax)),
            ("temperature", .float(temperature)), ("sharpenedSoftmax", .floats(sharpened)),
        ])
        return (lines, json)
    }

    func sum(_ weights: [Float]) -> String {
        let order = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        return order.map { "\(NumberFormat.fixed(weights[$0])) × v(\(Self.tokens[$0]))" }.joined(separator: " + ")
    }
}
