import Attention

/// One layer/head attention heatmap as a standalone SVG with labels, for papers and slides.
///
/// Rows are query tokens (labels on the left), columns key tokens (labels on top, slanted);
/// each cell is filled by ``ColorScale`` and, when cells are large enough, shows the weight.
/// Every cell has a `<title>` ("sat → mat: 0.56") so viewers show the value on hover, and
/// the root has `role="img"` with a text description for screen readers.
public enum SVGHeatmap {
    public static func render(_ weights: Tensor, rowLabels: [String], columnLabels: [String], title: String) -> String {
        checkPrecondition(weights.rank == 2 && weights.shape == [rowLabels.count, columnLabels.count],
                     "SVGHeatmap: weights shape \(weights.shape) does not match \(rowLabels.count) row × \(columnLabels.count) column labels")
        let rows = rowLabels.count, columns = columnLabels.count
        let cell = max(12, min(40, 720 / max(rows, columns)))
        let showNumbers = cell >= 28
        let rowLabelWidth = 8 + 8 * min(16, rowLabels.map(DisplayWidth.of).max() ?? 1)
        let columnLabelHeight = 12 + 6 * min(16, columnLabels.map(DisplayWidth.of).max() ?? 1)
        let top = 34 + columnLabelHeight
        let width = rowLabelWidth + columns * cell + 20
        let height = top + rows * cell + 40
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            role="img" aria-labelledby="t d" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
            <title id="t">\(escaped(title))</title>
            <desc id="d">\(escaped(description(weights, rowLabels: rowLabels, columnLabels: columnLabels)))</desc>
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(rowLabelWidth)" y="20" font-size="14" font-weight="600" fill="#1a1a1a">\(escaped(title))</text>

            """
        for (j, label) in columnLabels.enumerated() {
            let x = rowLabelWidth + j * cell + cell / 2
            svg += "<text x=\"\(x)\" y=\"\(top - 6)\" font-size=\"12\" fill=\"#333\" transform=\"rotate(-45 \(x) \(top - 6))\">\(escaped(short(label)))</text>\n"
        }
        for (i, label) in rowLabels.enumerated() {
            let y = top + i * cell + cell / 2 + 4
            svg += "<text x=\"\(rowLabelWidth - 6)\" y=\"\(y)\" font-size=\"12\" fill=\"#333\" text-anchor=\"end\">\(escaped(short(label)))</text>\n"
            for j in 0..<columns {
                let value = weights.scalars[i * columns + j]
                let x = rowLabelWidth + j * cell, y0 = top + i * cell
                svg += "<rect x=\"\(x)\" y=\"\(y0)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(ColorScale.hex(value))\" stroke=\"#fff\" stroke-width=\"1\">"
                    + "<title>\(escaped(label)) → \(escaped(columnLabels[j])): \(NumberFormat.fixed(value))</title></rect>\n"
                if showNumbers {
                    let ink = ColorScale.needsLightText(value) ? "#fff" : "#111"
                    svg += "<text x=\"\(x + cell / 2)\" y=\"\(y0 + cell / 2 + 4)\" font-size=\"10\" text-anchor=\"middle\" fill=\"\(ink)\">"
                        + "\(NumberFormat.fixed(value))</text>\n"
                }
            }
        }
        let legendY = top + rows * cell + 22
        svg += "<text x=\"\(rowLabelWidth)\" y=\"\(legendY)\" font-size=\"11\" fill=\"#555\">rows: query token · columns: key token · each row sums to 1</text>\n"
        return svg + "</svg>\n"
    }

    /// The screen-reader description: each query's strongest key.
    static func description(_ weights: Tensor, rowLabels: [String], columnLabels: [String]) -> String {
        let n = columnLabels.count
        let parts = rowLabels.indices.prefix(40).map { i -> String in
            let rowValues = weights.scalars[i * n..<(i + 1) * n]
            let j = rowValues.indices.max { rowValues[$0] < rowValues[$1] }! - i * n
            return "\(rowLabels[i]) attends most to \(columnLabels[j]) (\(NumberFormat.percent(weights.scalars[i * n + j])))"
        }
        return "Attention heatmap, \(rowLabels.count) query tokens by \(n) key tokens. " + parts.joined(separator: "; ") + "."
    }

    static func short(_ label: String) -> String {
        DisplayWidth.of(label) > 16 ? DisplayWidth.fitted(label, width: 16) : label
    }

    /// XML text escaping (labels are already free of control characters).
    public static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
