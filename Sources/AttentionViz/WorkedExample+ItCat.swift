import Attention

/// Seed 000's intuition example: "it" looks for its antecedent "cat" in a 5-d toy space.
public struct ItCatExample: Sendable {
    public static let queryIt: [Float] = [0.9, 0.1, 0.0, 0.2, 0.3]
    public static let keyIt: [Float] = [0.1, 0.3, 0.2, 0.0, 0.4]
    public static let valueIt: [Float] = [0.2, 0.5, 0.1, 0.0, 0.7]
    public static let queryCat: [Float] = [0.2, 0.4, 0.1, 0.3, 0.0]
    public static let keyCat: [Float] = [0.8, 0.2, 0.0, 0.1, 0.3]
    public static let valueCat: [Float] = [0.7, 0.6, 0.2, 0.4, 0.1]
    /// The weight the document supposes for "cat" (the other tokens of the sentence share 0.30).
    public static let documentCatWeight: Float = 0.70

    /// `Q·Kᵀ` for the two tokens (rows: it, cat), unscaled: `scores[0, 1] = q_it · k_cat`.
    public var scores: Tensor
    /// The engine's `softmax(Q·Kᵀ/√5)`, `[2, 2]`.
    public var weights: Tensor
    /// Softmax without the √d_k scaling, for comparison.
    public var unscaledWeights: Tensor
    /// The engine's `softmax(Q·Kᵀ/√5)·V`, `[2, 5]`.
    public var output: Tensor
    /// The document's `0.70 × v_cat`.
    public var documentCatContribution: [Float]

    /// q_it · k_cat, the seed's 0.85.
    public var scoreItCat: Float { scores[0, 1] }

    public static func compute() -> ItCatExample {
        let q = ExampleMath.batched([queryIt, queryCat])
        let k = ExampleMath.batched([keyIt, keyCat])
        let v = ExampleMath.batched([valueIt, valueCat])
        let scores = ExampleMath.squeezed(q).matmul(ExampleMath.squeezed(k), transposingOther: true)
        return ItCatExample(
            scores: scores,
            weights: ExampleMath.squeezed(attentionWeights(queries: q, keys: k)),
            unscaledWeights: ExampleMath.squeezed(attentionWeights(queries: q, keys: k, scale: 1)),
            output: ExampleMath.squeezed(scaledDotProductAttention(queries: q, keys: k, values: v)),
            documentCatContribution: valueCat.map { $0 * documentCatWeight })
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        let labels = ["it", "cat"]
        let written = ExampleMath.writtenDotProduct(Self.queryIt, Self.keyCat)
        var lines = [
            "Sentence: \"the cat sat on the mat because it was tired.\" Track \"it\" and \"cat\" in a 5-d space.",
            "  q_it  = \(NumberFormat.vector(Self.queryIt, decimals: 1))   what \"it\" looks for (an antecedent noun)",
            "  k_it  = \(NumberFormat.vector(Self.keyIt, decimals: 1))   v_it  = \(NumberFormat.vector(Self.valueIt, decimals: 1))",
            "  q_cat = \(NumberFormat.vector(Self.queryCat, decimals: 1))   k_cat = \(NumberFormat.vector(Self.keyCat, decimals: 1))",
            "  v_cat = \(NumberFormat.vector(Self.valueCat, decimals: 1))",
            "",
            "Step 1 · Similarity score (a dot product)",
            "  q_it · k_cat = \(written.products)",
            "               = \(written.terms) = \(NumberFormat.fixed(scoreItCat))",
            "",
            "Step 2 · All scores S = Q·Kᵀ for the two tokens (rows query, columns key):",
        ]
        lines += TerminalTable(scores, rowLabels: labels, columnLabels: labels).render(style: style)
        lines += [
            "",
            "Step 3 · Softmax of S/√5 (d_k = 5, √5 = \(NumberFormat.fixed(Float(5).squareRoot())), computed by the engine):",
        ]
        lines += TerminalHeatmap(weights, rowLabels: labels, columnLabels: labels).render(style: style)
        lines += [
            "  The document supposes a weight of \(NumberFormat.fixed(Self.documentCatWeight)) on \"cat\" in the full sentence, the rest 0.30.",
            "  With only these two tokens the true softmax gives \"it\" → \"cat\" \(NumberFormat.fixed(weights[0, 1]))"
                + " (\(NumberFormat.fixed(unscaledWeights[0, 1])) without the √d_k scaling).",
            "",
            "Step 4 · Output z_it = A[it, it] × v_it + A[it, cat] × v_cat:",
            "  z_it = \(NumberFormat.fixed(weights[0, 0])) × v_it + \(NumberFormat.fixed(weights[0, 1])) × v_cat"
                + " = \(NumberFormat.vector(row(output, 0)))",
            "  The document's 0.70 × v_cat = \(NumberFormat.vector(documentCatContribution))"
                + " (+ 0.30 × the other tokens' values)",
            "  Either way z_it is built mostly from \"cat\"'s value: \"it\" now carries what \"cat\" means.",
        ]
        let json: JSONValue = .object([
            ("tokens", .strings(labels)),
            ("Q", .tensor(ExampleMath.matrix([Self.queryIt, Self.queryCat]))),
            ("K", .tensor(ExampleMath.matrix([Self.keyIt, Self.keyCat]))),
            ("V", .tensor(ExampleMath.matrix([Self.valueIt, Self.valueCat]))),
            ("scoreItCat", .float(scoreItCat)),
            ("scores", .tensor(scores)), ("scale", .float(1 / Float(5).squareRoot())),
            ("weights", .tensor(weights)), ("unscaledWeights", .tensor(unscaledWeights)),
            ("output", .tensor(output)),
            ("documentCatWeight", .float(Self.documentCatWeight)),
            ("documentCatContribution", .floats(documentCatContribution)),
        ])
        return (lines, json)
    }
}

func row(_ m: Tensor, _ i: Int) -> [Float] {
    let n = m.shape[1]
    return Array(m.scalars[i * n..<(i + 1) * n])
}
