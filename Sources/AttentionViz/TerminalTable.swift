import Attention

/// A labelled matrix of numbers for the terminal, truncated to the available width and
/// height with a note saying what is not shown (never wrapping a row mid-way).
public struct TerminalTable {
    /// `[R, C]` values.
    public var matrix: Tensor
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var decimals = 2
    /// Show at most this many rows (the rest are summarised in a note).
    public var maximumRows = 24

    public init(_ matrix: Tensor, rowLabels: [String], columnLabels: [String], decimals: Int = 2) {
        checkPrecondition(matrix.rank == 2 && matrix.shape == [rowLabels.count, columnLabels.count],
                     "TerminalTable: matrix shape \(matrix.shape) does not match \(rowLabels.count) row and \(columnLabels.count) column labels")
        self.matrix = matrix
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.decimals = decimals
    }

    /// Column labels x1, x2, … for feature axes.
    public static func featureLabels(_ count: Int, prefix: String = "") -> [String] {
        (0..<count).map { "\(prefix)\($0 + 1)" }
    }

    /// The table's lines (no trailing newline), indented by `indent` spaces.
    public func render(style: TerminalStyle, indent: Int = 2) -> [String] {
        let numbers = matrix.scalars.map { NumberFormat.fixed($0, decimals: decimals) }
        let numberWidth = numbers.map(\.count).max() ?? 4
        let cellWidth = max(numberWidth, min(8, columnLabels.map(DisplayWidth.of).max() ?? 1)) + 1
        let layout = TableLayout(rowLabels: rowLabels, columnCount: columnLabels.count,
                                 cellWidth: cellWidth, style: style, indent: indent, maximumRows: maximumRows)
        let columns = matrix.shape[1]
        var lines: [String] = []
        var header = layout.blankLabel
        for j in layout.shownColumns { header += DisplayWidth.fitted(columnLabels[j], width: cellWidth, alignRight: true) }
        lines.append(header.trailingSpacesRemoved)
        for i in layout.shownRows {
            var line = layout.label(i)
            for j in layout.shownColumns {
                line += DisplayWidth.fitted(numbers[i * columns + j], width: cellWidth, alignRight: true)
            }
            lines.append(line)
        }
        lines += layout.notes
        return lines
    }
}

/// Which rows and columns fit, and the notes for the rest; shared by tables and heatmaps.
struct TableLayout {
    let labelWidth: Int
    let indent: Int
    let rowLabels: [String]
    let shownColumns: Range<Int>
    let shownRows: Range<Int>
    let notes: [String]

    init(rowLabels: [String], columnCount: Int, cellWidth: Int, style: TerminalStyle, indent: Int, maximumRows: Int) {
        self.rowLabels = rowLabels
        self.indent = indent
        labelWidth = min(12, max(3, rowLabels.map(DisplayWidth.of).max() ?? 3))
        let available = style.width - indent - labelWidth - 1
        let fitting = max(1, available / cellWidth)
        shownColumns = 0..<min(columnCount, fitting)
        shownRows = 0..<min(rowLabels.count, maximumRows)
        var notes: [String] = []
        let pad = String(repeating: " ", count: indent)
        if shownColumns.count < columnCount {
            let hidden = shownColumns.count + 1 == columnCount ? "column \(columnCount)" : "columns \(shownColumns.count + 1)–\(columnCount)"
            notes.append(pad + "(\(hidden) of \(columnCount) not shown: "
                + "the terminal is \(style.width) columns wide; see --json or attend view)")
        }
        if shownRows.count < rowLabels.count {
            let hidden = shownRows.count + 1 == rowLabels.count ? "row \(rowLabels.count)" : "rows \(shownRows.count + 1)–\(rowLabels.count)"
            notes.append(pad + "(\(hidden) of \(rowLabels.count) not shown; see --json or attend view)")
        }
        self.notes = notes
    }

    var blankLabel: String { String(repeating: " ", count: indent + labelWidth + 1) }

    func label(_ row: Int) -> String {
        String(repeating: " ", count: indent) + DisplayWidth.fitted(rowLabels[row], width: labelWidth) + " "
    }
}

extension String {
    var trailingSpacesRemoved: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
