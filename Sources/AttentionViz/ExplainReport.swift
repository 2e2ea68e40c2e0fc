import Attention

/// What `attend explain` shows, chosen by its flags (indices 0-based).
public struct ExplainOptions: Sendable {
    public var layer = 0
    /// The head walked through step by step; every head gets a heatmap in the multi-head step.
    public var head = 0
    public var focus: FocusToken.Target?
    public var style = TerminalStyle(color: false)
    /// The text as given, for the title line.
    public var title: String?
    public init() {}
}

/// The step-by-step walk through one layer of self-attention, in the order of the seeds:
/// tokens → X → Q, K, V → QKᵀ → ÷√d_k → softmax → Z = A·V → heads, concat, W^O; then the
/// focused token (seed 003's "sat") and, for byte-level models, the word-level view.
public struct ExplainReport {
    public let source: any AttentionSource
    public let options: ExplainOptions
    var lines: [String] = []

    /// The report's text (lines joined by newlines, ending in one).
    public static func render(_ source: any AttentionSource, options: ExplainOptions) -> String {
        var report = ExplainReport(source: source, options: options)
        report.build()
        return report.lines.joined(separator: "\n") + "\n"
    }

    init(source: any AttentionSource, options: ExplainOptions) {
        checkPrecondition(options.layer >= 0 && options.layer < source.layerCount && options.head >= 0 && options.head < source.headCount,
            "ExplainReport: options.layer \(options.layer) / options.head \(options.head) outside the source's \(source.layerCount) layers × \(source.headCount) heads")
        self.source = source
        self.options = options
    }

    var style: TerminalStyle { options.style }
    var tokens: [String] { source.tokens }
    var layerName: String { "layer \(options.layer + 1) of \(source.layerCount)" }
    var headName: String { "head \(options.head + 1)" }

    mutating func add(_ line: String = "") { lines.append(line) }
    mutating func add(_ more: [String]) { lines += more }
    mutating func heading(_ number: Int?, _ title: String) {
        add()
        add(number.map { "Step \($0) · \(title)" } ?? title)
    }

    mutating func build() {
        if let title = options.title { add("Self-attention, step by step: \"\(title)\"") }
        add("Model: \(source.modelDescription)")
        for note in source.notes { add("Note: \(note)") }
        heading(1, "Tokens (\(tokens.count))")
        add(wrapped(tokens.enumerated().map { "\($0 + 1):\($1)" }))
        if let bytes = source.byteText, bytes.contains(where: { $0 >= 0x80 }) { addCharacters(bytes) }
        if let steps = source.steps(layer: options.layer) {
            walkThrough(steps)
        } else {
            heading(2, "Attention weights, \(layerName), \(headName)")
            add("  (this model exposes its attention weights but not its Q, K, V; showing the weights only)")
            add(heatmap(source.weights(layer: options.layer, head: options.head)))
        }
        if let focus = options.focus { addFocus(focus) }
        if let grouping = source.wordGrouping { addWordView(grouping) }
    }

    /// Each multi-byte character once, over its bytes (😀 over F0 9F 98 80), cut into lines
    /// of at most the terminal width.
    mutating func addCharacters(_ bytes: [UInt8]) {
        add()
        add("Characters over their bytes (a multi-byte character is one label; its continuation bytes are ·XX above):")
        var chunk: [UInt8] = []
        var chunks: [[UInt8]] = []
        let perLine = max(4, (style.width - 2) / 3)
        for span in TextSegmentation.characters(bytes) {
            if chunk.count + span.byteRange.count > perLine { chunks.append(chunk); chunk = [] }
            chunk += bytes[span.byteRange]
        }
        if !chunk.isEmpty { chunks.append(chunk) }
        for c in chunks {
            let rows = TextSegmentation.characterRows(c)
            add("  " + rows.characters)
            add("  " + rows.bytes)
        }
    }

    /// Steps 2–8 for the chosen layer, walking through the chosen head.
    mutating func walkThrough(_ s: AttentionSteps) {
        addInputsAndProjections(s)
        addScores(s)
        addWeightsAndOutput(s)
        addMultiHead(s)
    }

    /// Steps 2–3: X, and Q, K, V for the chosen head's columns.
    mutating func addInputsAndProjections(_ s: AttentionSteps) {
        let h = options.head, dk = s.headSize
        let columns = h * dk..<(h + 1) * dk
        heading(2, "Embeddings X  [\(s.tokenCount) × \(s.modelSize)]: one row per token (\(layerName))")
        if options.layer > 0 && source is ToyAttentionModel {
            add("  The input to this layer is the previous layer's X plus its output (a residual connection).")
        }
        add(table(s.input, columns: TerminalTable.featureLabels(s.modelSize, prefix: "x")))

        heading(3, "Queries, keys, values: Q = X·W_Q, K = X·W_K, V = X·W_V" + (s.hasBias ? " (+ biases)" : ""))
        add("  W_Q, W_K, W_V are [\(s.modelSize) × \(s.headCount * dk)] projection matrices; each of the \(s.headCount) heads")
        add("  owns \(dk) of the columns. \(headName.capitalized) uses columns \(columns.lowerBound + 1)–\(columns.upperBound):")
        for (name, tensor, letter) in [("Q", s.headQueries[h], "q"), ("K", s.headKeys[h], "k"), ("V", s.headValues[h], "v")] {
            add("  \(name) (\(headName)) [\(s.tokenCount) × \(dk)]: what each token \(name == "Q" ? "looks for" : name == "K" ? "offers" : "carries")")
            add(table(tensor, columns: TerminalTable.featureLabels(dk, prefix: letter)))
        }

    }

    /// Steps 4–5: the raw scores with one dot product written out, then the scaling and why.
    mutating func addScores(_ s: AttentionSteps) {
        let h = options.head, dk = s.headSize
        let (i, j) = examplePair(s)
        heading(4, "Raw scores S = Q·Kᵀ  [\(s.tokenCount) × \(s.tokenCount)]: S[i, j] = q(i) · k(j)")
        add("  " + dotProductLine(s.headQueries[h], s.headKeys[h], i, j, result: s.scores[h][i, j]))
        add(table(s.scores[h], columns: tokens))

        let root = 1 / s.scale
        heading(5, "Scaling: Ŝ = S / √d_k = S / √\(dk) = S / \(NumberFormat.fixed(root))")
        add("  Why: if q and k have independent entries of variance 1, q·k is a sum of d_k terms and has")
        add("  variance d_k; dividing by √d_k brings it back to about 1. Unscaled, large scores push the")
        add("  softmax to one-hot (one weight ≈ 1), whose gradients vanish, and training stalls.")
        let t = s.tokenCount
        let unscaled = attentionWeights(queries: s.headQueries[h].reshaped([1, 1, t, dk]), keys: s.headKeys[h].reshaped([1, 1, t, dk]),
                                        scale: 1, mask: s.isCausal ? .causal : .none)
        let unscaledPeak = meanRowMaximum(unscaled.reshaped([t, t]))
        add("  Here: scores spread (std) \(NumberFormat.fixed(standardDeviation(s.scores[h]))) → \(NumberFormat.fixed(standardDeviation(s.scaledScores[h])))"
            + "; the largest weight in a row averages \(NumberFormat.fixed(meanRowMaximum(s.weights[h])))"
            + " scaled vs \(NumberFormat.fixed(unscaledPeak)) unscaled.")
        if s.isCausal { add("  A causal mask sets Ŝ[i, j] = −∞ for j > i: a token cannot look ahead.") }
        add(table(s.scaledScores[h], columns: tokens))
    }

    /// Steps 6–7: the softmax heatmap and Z = A·V.
    mutating func addWeightsAndOutput(_ s: AttentionSteps) {
        let h = options.head, dk = s.headSize
        heading(6, "Softmax: A = softmax(Ŝ), row by row (each row sums to 1)")
        add("  A[i, j] = exp(Ŝ[i, j]) / Σₖ exp(Ŝ[i, k]): how much token i attends to token j (\(headName)).")
        add(heatmap(s.weights[h]))

        heading(7, "Output Z = A·V  [\(s.tokenCount) × \(dk)]: each row is a weighted mix of the value rows")
        add(table(s.headOutputs[h], columns: TerminalTable.featureLabels(dk, prefix: "z")))
        // The exact difference depends on the fused kernel's tiling (it is in --json); the text
        // states it against the Float32 error budget so the output does not change with the kernel.
        add(s.fusedKernelDifference <= 1e-5
            ? "  (the fused kernel, tiled with an online softmax, gives the same Z to within 1e-5 on this input)"
            : "  (warning: the fused kernel's Z differs from this one by \(shortScientific(s.fusedKernelDifference)))")
    }

    /// Step 8: every other head's heatmap, the concatenation and W^O.
    mutating func addMultiHead(_ s: AttentionSteps) {
        let h = options.head, dk = s.headSize
        heading(8, "Multi-head: \(s.headCount) heads side by side, concatenated, then projected by W^O")
        for other in 0..<s.headCount where other != h {
            add("  Head \(other + 1): A = softmax(Q\(subscriptDigits(other + 1))·K\(subscriptDigits(other + 1))ᵀ / √d_k)")
            add(heatmap(s.weights[other]))
        }
        let parts = s.headCount <= 4 ? (1...s.headCount).map { "Z" + subscriptDigits($0) }.joined(separator: " ")
            : "Z₁ … Z" + subscriptDigits(s.headCount)
        add("  concat = [\(parts)]  [\(s.tokenCount) × \(s.headCount * dk)]")
        add(table(s.concatenated, columns: TerminalTable.featureLabels(s.headCount * dk, prefix: "c")))
        add("  output = concat·W^O  [\(s.tokenCount) × \(s.modelSize)], W^O is [\(s.headCount * dk) × \(s.modelSize)]:")
        add(table(s.output, columns: TerminalTable.featureLabels(s.modelSize, prefix: "o")))
    }

    /// The pair whose dot product is written out: the focused token and the key it attends
    /// most, else the last token's.
    func examplePair(_ s: AttentionSteps) -> (Int, Int) {
        var i = s.tokenCount - 1
        if case .token(let t) = options.focus { i = t }
        let row = (0..<s.tokenCount).map { s.weights[options.head][i, $0] }
        let j = row.indices.max { row[$0] < row[$1] } ?? 0
        return (i, j)
    }

    func dotProductLine(_ q: Tensor, _ k: Tensor, _ i: Int, _ j: Int, result: Float) -> String {
        let n = q.shape[1]
        func factor(_ v: Float) -> String { v < 0 ? "(\(NumberFormat.fixed(v)))" : NumberFormat.fixed(v) }
        var terms = (0..<min(n, 6)).map { "\(factor(q[i, $0]))×\(factor(k[j, $0]))" }
        if n > 6 { terms.append("…") }
        return "e.g. S[\(tokens[i]), \(tokens[j])] = " + terms.joined(separator: " + ") + " = " + NumberFormat.fixed(result)
    }

    func table(_ matrix: Tensor, columns: [String]) -> [String] {
        TerminalTable(matrix, rowLabels: tokens, columnLabels: columns).render(style: style)
    }

    func heatmap(_ weights: Tensor, labels: [String]? = nil) -> [String] {
        let labels = labels ?? tokens
        return TerminalHeatmap(weights, rowLabels: labels, columnLabels: labels).render(style: style)
    }

    /// `items` joined with two spaces, wrapped to the terminal width.
    func wrapped(_ items: [String]) -> [String] {
        var out: [String] = []
        var line = " "
        for item in items {
            if DisplayWidth.of(line) + 2 + DisplayWidth.of(item) > style.width, line != " " {
                out.append(line)
                line = " "
            }
            line += " " + item
        }
        out.append(line)
        return out
    }
}

func standardDeviation(_ t: Tensor) -> Double {
    let finite = t.scalars.filter(\.isFinite).map(Double.init)
    guard finite.count > 1 else { return 0 }
    let mean = finite.reduce(0, +) / Double(finite.count)
    return (finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count)).squareRoot()
}

func meanRowMaximum(_ weights: Tensor) -> Double {
    let n = weights.shape[1]
    let rows = weights.shape[0]
    guard rows > 0 && n > 0 else { return 0 }
    return (0..<rows).map { r in Double(weights.scalars[r * n..<(r + 1) * n].max() ?? 0) }.reduce(0, +) / Double(rows)
}

func shortScientific(_ value: Float) -> String {
    String(format: "%.0e", Double(value))
}

func subscriptDigits(_ n: Int) -> String {
    let digits = Array("₀₁₂₃₄₅₆₇₈₉")
    return String(String(n).compactMap { $0.wholeNumberValue.map { digits[$0] } })
}
