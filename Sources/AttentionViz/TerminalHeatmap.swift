import Attention

/// An attention-weight matrix drawn for the terminal: rows are query tokens, columns key
/// tokens, each cell the weight with its colour.
///
/// - Colour (``TerminalStyle/color``): each cell is a 24-bit background (``ColorScale``)
///   with the number on it in black or white for contrast.
/// - No colour: each cell is the number followed by an ASCII shade `" .:-=+*#%@"` (one level
///   per 0.1), so the pattern stays visible in logs, pipes and `NO_COLOR` terminals.
public struct TerminalHeatmap {
    public var weights: Tensor
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var maximumRows = 32

    public init(_ weights: Tensor, rowLabels: [String], columnLabels: [String]) {
        checkPrecondition(weights.rank == 2 && weights.shape == [rowLabels.count, columnLabels.count],
                     "TerminalHeatmap: weights shape \(weights.shape) does not match \(rowLabels.count) row and \(columnLabels.count) column labels")
        self.weights = weights
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
    }

    /// Cell width in columns: " 0.56 " and a gap with colour, " 0.56 @" without.
    static let cellWidth = 7

    public func render(style: TerminalStyle, indent: Int = 2) -> [String] {
        let layout = TableLayout(rowLabels: rowLabels, columnCount: columnLabels.count, cellWidth: Self.cellWidth,
                                 style: style, indent: indent, maximumRows: maximumRows)
        let columns = weights.shape[1]
        var lines: [String] = []
        var header = layout.blankLabel
        for j in layout.shownColumns {
            header += DisplayWidth.fitted(columnLabels[j], width: 5, alignRight: true) + "  "
        }
        lines.append(header.trailingSpacesRemoved)
        for i in layout.shownRows {
            var line = layout.label(i)
            for j in layout.shownColumns {
                line += cell(weights.scalars[i * columns + j], color: style.color)
            }
            lines.append(style.color ? line : line.trailingSpacesRemoved)
        }
        lines += layout.notes
        lines.append(String(repeating: " ", count: indent) + legend(color: style.color))
        return lines
    }

    func cell(_ value: Float, color: Bool) -> String {
        let number = NumberFormat.fixed(value, decimals: 2)
        guard color else {
            return " " + DisplayWidth.fitted(number, width: 4, alignRight: true) + " " + String(ColorScale.shade(value))
        }
        let c = ColorScale.rgb(value)
        let foreground = ColorScale.needsLightText(value) ? "255;255;255" : "0;0;0"
        return "\u{1B}[48;2;\(c.r);\(c.g);\(c.b)m\u{1B}[38;2;\(foreground)m "
            + DisplayWidth.fitted(number, width: 4, alignRight: true) + " \u{1B}[0m "
    }

    func legend(color: Bool) -> String {
        if color {
            let swatches = stride(from: Float(0), through: 1, by: 0.25).map { v -> String in
                let c = ColorScale.rgb(v)
                return "\u{1B}[48;2;\(c.r);\(c.g);\(c.b)m  \u{1B}[0m"
            }.joined()
            return "row = query token, column = key token; 0 " + swatches + " 1"
        }
        return "row = query token, column = key token; shade per 0.1: ' .:-=+*#%@' (blank < 0.1, @ ≥ 0.9)"
    }
}
