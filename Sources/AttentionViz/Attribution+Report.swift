import Foundation

extension Attribution {
    /// How the model family measures a change, for the report's headings.
    public struct Measures: Sendable {
        /// E.g. "1 − cos of h_L[focus]".
        public var knockout: String
        /// E.g. "1 − cos of the sentence embedding".
        public var headAblation: String

        public init(knockout: String, headAblation: String) {
            self.knockout = knockout; self.headAblation = headAblation
        }

        /// Encoders: cosine distances of hidden states and of pooled sentence embeddings.
        public static let encoder = Measures(
            knockout: "1 − cos(h_L[focus], h̃_L[focus])", headAblation: "1 − cos of the pooled, normalised sentence embedding")
        /// Decoders: KL divergence of the next-token distribution at the focus.
        public static let decoder = Measures(
            knockout: "KL(p ‖ p̃) in nats, next byte at focus", headAblation: "KL(p ‖ p̃) in nats, next byte at focus")
    }

    /// The plain-text report `attend attribute` prints: one row per token with the mean weight,
    /// rollout and knockout as numbers and bars, the head-ablation grid, and the verdict.
    public func report(modelDescription: String, measures: Measures) -> String {
        var out = "\(modelDescription)\n"
        out += "Focus: \(tokens[focus]) (token #\(focus), counted from 0, of \(tokens.count))\n\n"
        let mean = meanWeights
        let labelWidth = min(16, max(6, tokens.map { DisplayWidth.of($0) }.max() ?? 6))
        func pad(_ s: String, _ width: Int) -> String {
            let w = DisplayWidth.of(s)
            return w >= width ? s : s + String(repeating: " ", count: width - w)
        }
        func cut(_ s: String) -> String { DisplayWidth.of(s) <= labelWidth ? s : String(s.prefix(labelWidth - 1)) + "…" }
        func bar(_ value: Float, _ top: Float) -> String {
            let cells = top > 0 ? Int((Double(value / top) * 10).rounded()) : 0
            return pad(String(repeating: "█", count: max(0, min(10, cells))), 10)
        }
        let topWeight = mean.max() ?? 0, topRollout = rollout.max() ?? 0, topKnockout = knockout.max() ?? 0
        out += "  " + pad("token", labelWidth) + "  " + pad("mean weight", 17) + "  " + pad("rollout", 17) + "  knockout\n"
        let shown = visibleTokens
        for j in shown {
            let marker = j == focus ? "▶ " : "  "
            out += marker + pad(cut(tokens[j]), labelWidth)
            out += "  " + String(format: "%.3f ", mean[j]) + bar(mean[j], topWeight)
            out += "  " + String(format: "%.3f ", rollout[j]) + bar(rollout[j], topRollout)
            out += "  " + String(format: "%.4f ", knockout[j]) + bar(knockout[j], topKnockout) + "\n"
        }
        if shown.count < tokens.count {
            out += "  (\(tokens.count - shown.count) later tokens hidden by the causal mask: weight 0, rollout 0, knockout 0)\n"
        }
        out += "\nmean weight: the focus row averaged over \(weights.count) layers × \(weights.first?.count ?? 0) heads "
            + "(per head with --json). rollout: Abnar & Zuidema's Â = ½·mean_h A + ½·I multiplied over layers.\n"
        out += "knockout: \(measures.knockout) with the edge \(tokens[focus])→token removed in every layer and head.\n\n"

        out += "Head ablation (\(measures.headAblation), head's context zeroed before W^O):\n"
        let heads = headAblation.first?.count ?? 0
        out += "         " + (0..<heads).map { pad("h\($0 + 1)", 7) }.joined(separator: " ") + "\n"
        for (l, row) in headAblation.enumerated() {
            out += pad("layer \(l + 1)", 9) + row.map { pad(String(format: "%.4f", $0), 7) }.joined(separator: " ") + "\n"
        }
        if let (l, h) = headAblation.indices.flatMap({ l in headAblation[l].indices.map { (l, $0) } })
            .max(by: { headAblation[$0.0][$0.1] < headAblation[$1.0][$1.1] }) {
            out += "Most important head: layer \(l + 1), head \(h + 1) (\(String(format: "%.4f", headAblation[l][h]))).\n"
        }
        out += "\n" + verdict() + "\n"
        return out
    }

    /// The verdict line: Spearman's ρ of mean weight against knockout, and the tokens where the
    /// two rankings disagree most.
    public func verdict() -> String {
        let visible = visibleTokens
        guard let rho = rankCorrelation else {
            return "Verdict: too few tokens (or no variation) to compare attention weight with knockout effect."
        }
        let judgement: String
        switch rho {
        case 0.7...: judgement = "here weight and causal effect broadly agree"
        case 0.3..<0.7: judgement = "weight is only a rough guide to effect here"
        default: judgement = "weight is a poor guide to effect here: high attention does not mean high importance"
        }
        var line = "Verdict: Spearman ρ(mean weight, knockout) = \(String(format: "%.2f", rho)) over \(visible.count) tokens — \(judgement)."
        let worst = disagreements(count: 3)
        if !worst.isEmpty {
            line += " Largest disagreements: " + worst.map {
                "\(tokens[$0.token]) (weight rank \($0.weightRank), knockout rank \($0.knockoutRank))"
            }.joined(separator: "; ") + "."
        }
        return line
    }
}
