import Attention

extension ExplainReport {
    /// Seed 003's walk for "sat": the score row, the weights as percentages, and the new
    /// representation written out as the weighted sum of value vectors.
    mutating func addFocus(_ target: FocusToken.Target) {
        let h = options.head
        switch target {
        case .word(let w):
            guard let grouping = source.wordGrouping else { return }
            let words = source.allWeights()[options.layer][h]
            let aggregated = WordAggregation.aggregate(words, grouping: grouping)
            heading(nil, "Focus: \"\(grouping.words[w])\" (word \(w + 1)), \(layerName), \(headName), word level")
            add(percentages(row(aggregated, w), labels: grouping.words))
        case .token(let i):
            heading(nil, "Focus: \"\(tokens[i])\" (token \(i + 1)), \(layerName), \(headName)")
            guard let s = source.steps(layer: options.layer) else {
                add(percentages(row(source.weights(layer: options.layer, head: h), i), labels: tokens))
                return
            }
            add("  Score row S[\(tokens[i]), ·] = q(\(tokens[i]))·k(·), and scaled by 1/√d_k:")
            let both = Tensor(shape: [2, s.tokenCount], scalars: row(s.scores[h], i) + row(s.scaledScores[h], i))
            add(TerminalTable(both, rowLabels: ["S", "S/√d_k"], columnLabels: tokens).render(style: style))
            add("  Weights softmax(S/√d_k), largest first:")
            let weights = row(s.weights[h], i)
            add(percentages(weights, labels: tokens))
            add("  New representation z(\(tokens[i])) = Σⱼ A[\(tokens[i]), j] × v(j):")
            add(weightedSum(weights, values: s.headValues[h], result: row(s.headOutputs[h], i), name: tokens[i]))
        }
    }

    func row(_ m: Tensor, _ i: Int) -> [Float] {
        let n = m.shape[1]
        return Array(m.scalars[i * n..<(i + 1) * n])
    }

    /// One line per key, sorted by weight, with a bar: "    mat   56%  ###########".
    func percentages(_ weights: [Float], labels: [String]) -> [String] {
        let order = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        let shown = order.prefix(16)
        let width = min(12, labels.map(DisplayWidth.of).max() ?? 1)
        var lines = shown.map { j -> String in
            let bar = String(repeating: style.color ? "█" : "#", count: Int((weights[j] * 40).rounded()))
            return "    " + DisplayWidth.fitted(labels[j], width: width) + " "
                + DisplayWidth.fitted(NumberFormat.percent(weights[j]), width: 4, alignRight: true) + (bar.isEmpty ? "" : "  " + bar)
        }
        if order.count > shown.count {
            let rest = order.dropFirst(shown.count).reduce(Float(0)) { $0 + weights[$1] }
            lines.append("    … \(order.count - shown.count) more tokens, \(NumberFormat.percent(rest)) in total")
        }
        return lines
    }

    /// "z(sat) = 0.56 × v(mat) + 0.25 × v(cat) + …", then the vectors, then the result.
    func weightedSum(_ weights: [Float], values: Tensor, result: [Float], name: String) -> [String] {
        let order = weights.indices.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        let shown = Array(order.prefix(8))
        var terms = shown.map { "\(NumberFormat.fixed(weights[$0])) × v(\(tokens[$0]))" }
        if order.count > shown.count {
            let rest = order.dropFirst(shown.count).reduce(Float(0)) { $0 + weights[$1] }
            terms.append("… (\(order.count - shown.count) more, \(NumberFormat.fixed(rest)) in total)")
        }
        let prefix = "    z(\(name)) = "
        let continuation = String(repeating: " ", count: DisplayWidth.of(prefix) - 2) + "= "
        var lines = [prefix + terms.joined(separator: " + ")]
        let vectorTerms = shown.prefix(3).map { j in
            "\(NumberFormat.fixed(weights[j])) × " + NumberFormat.vector(row(values, j), limit: 4)
        }
        lines.append(continuation + vectorTerms.joined(separator: " + ") + (shown.count > 3 ? " + …" : ""))
        lines.append(continuation + NumberFormat.vector(result, limit: 8) + "   (the row of Z above)")
        return lines
    }

    /// Byte-level models: the same head aggregated to words (sum over a word's key bytes,
    /// mean over its query bytes), because nobody reads a 40 × 40 byte matrix.
    mutating func addWordView(_ grouping: WordGrouping) {
        guard !grouping.words.isEmpty else { return }
        heading(nil, "Word level: \(layerName), \(headName), byte attention aggregated to \(grouping.words.count) words")
        add("  W[a, b] = mean over the bytes i of word a of (sum over the bytes j of word b of A[i, j]);")
        add("  a space counts with the word after it (as GPT-2's \"Ġword\" tokens), so each row sums to 1.")
        let words = WordAggregation.aggregate(source.weights(layer: options.layer, head: options.head), grouping: grouping)
        add(heatmap(words, labels: grouping.words))
    }
}
