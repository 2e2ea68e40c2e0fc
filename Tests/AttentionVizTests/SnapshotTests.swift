import Attention
import AttentionViz
import Testing

/// The terminal output users see, pinned exactly, with and without colour.
@Suite struct SnapshotTests {
    static func satReport(color: Bool) throws -> String {
        let model = try ToyAttentionModel(bytes: Array("The cat sat on the mat".utf8))
        var options = ExplainOptions()
        options.style = TerminalStyle(color: color, width: 100)
        options.title = "The cat sat on the mat"
        options.focus = try FocusToken.resolve("sat", tokens: model.tokens)
        return ExplainReport.render(model, options: options)
    }

    @Test(arguments: [false, true])
    func explainTheSeedsSentence(color: Bool) throws {
        let text = try Self.satReport(color: color)
        try Snapshot.check(text, named: color ? "explain-sat.color.txt" : "explain-sat.txt")
        #expect(text.contains("\u{1B}[") == color, "escape codes appear exactly when colour is on (color: \(color))")
    }

    @Test(arguments: [false, true])
    func threeTokenExample(color: Bool) throws {
        let text = WorkedExample.threeTokens.run(style: TerminalStyle(color: color, width: 100)).text
        try Snapshot.check(text, named: color ? "example-three-tokens.color.txt" : "example-three-tokens.txt")
    }

    /// No table or heatmap line is wider than the terminal, whatever the labels (CJK, emoji,
    /// escapes): wide matrices are cut with a note instead of wrapping mid-row.
    @Test(arguments: [40, 61, 100])
    func tablesFitTheWidth(width: Int) throws {
        var configuration = ToyAttentionModel.Configuration()
        configuration.tokenization = .bytes
        let model = try ToyAttentionModel(bytes: Array("Le chat s'est assis, 猫が座った 🐈.".utf8), configuration: configuration)
        let labels = model.tokens
        let words = ["猫が座った", "🐈🐈🐈", "naïve", "a\\u{7}b", "x"]
        for color in [false, true] {
            let style = TerminalStyle(color: color, width: width)
            let heatmap = TerminalHeatmap(model.weights(layer: 0, head: 0), rowLabels: labels, columnLabels: labels).render(style: style)
            let table = TerminalTable(model.steps(layer: 0)!.input, rowLabels: labels,
                                      columnLabels: TerminalTable.featureLabels(8, prefix: "x")).render(style: style)
            let small = TerminalHeatmap(Tensor(repeating: 0.2, shape: [5, 5]), rowLabels: words, columnLabels: words).render(style: style)
            for (name, lines) in [("heatmap", heatmap), ("table", table), ("word heatmap", small)] {
                let body = lines.filter { !$0.contains("not shown") && !$0.contains("row = query token") }
                let wide = body.filter { DisplayWidth.of(stripANSI($0)) > width }
                #expect(wide.isEmpty, "\(name), width \(width), colour \(color): \(wide.count) lines too wide, e.g. \(wide.first ?? "")")
                let widths = Set(body.dropFirst().map { DisplayWidth.of(stripANSI($0).trailingTrimmed) })
                #expect(widths.count <= 2, "\(name), width \(width), colour \(color): rows of unequal widths \(widths)")
            }
            #expect(heatmap.contains { $0.contains("columns") && $0.contains("not shown") },
                    "width \(width): the \(labels.count)-column heatmap says which columns it cut")
            #expect(!small.contains { $0.contains("not shown") } || width < 45, "width \(width): 5 columns fit without a cut")
        }
    }
}

extension String {
    var trailingTrimmed: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

func stripANSI(_ s: String) -> String {
    var out = ""
    var iterator = s.makeIterator()
    while let c = iterator.next() {
        if c == "\u{1B}" {
            while let d = iterator.next(), !d.isLetter {}
            continue
        }
        out.append(c)
    }
    return out
}
