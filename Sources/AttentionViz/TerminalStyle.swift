import Foundation

/// `--color auto|always|never`.
public enum ColorMode: String, Sendable, CaseIterable {
    case auto, always, never
}

/// How terminal output is drawn: 24-bit colour or ASCII shades, and how wide it may be.
public struct TerminalStyle: Sendable, Equatable {
    /// 24-bit colour cells (ANSI `48;2;r;g;b`) when true; ASCII shade characters otherwise.
    public var color: Bool
    /// Columns available; wider tables are truncated with a note.
    public var width: Int

    public init(color: Bool, width: Int = 100) {
        self.color = color
        self.width = max(40, width)
    }

    /// Colour when `mode` is `.always`, or `.auto` with standard output a terminal, `NO_COLOR`
    /// unset or empty (https://no-color.org) and `TERM` not `dumb`. Width from `--width`, `COLUMNS`,
    /// the terminal itself, else 100.
    public static func resolve(
        mode: ColorMode, environment: [String: String] = ProcessInfo.processInfo.environment,
        standardOutputIsTerminal: Bool = isatty(1) == 1, width: Int? = nil
    ) -> TerminalStyle {
        let color: Bool
        switch mode {
        case .always: color = true
        case .never: color = false
        case .auto:
            let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
            color = standardOutputIsTerminal && !noColor && environment["TERM"] != "dumb"
        }
        let columns = width ?? environment["COLUMNS"].flatMap(Int.init)
            ?? (standardOutputIsTerminal ? terminalColumns() : nil) ?? 100
        return TerminalStyle(color: color, width: columns)
    }

    /// The width of the terminal on standard output (shells rarely export `COLUMNS`).
    static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

/// Fixed-decimal number formatting that never depends on the locale and never prints "-0.00".
public enum NumberFormat {
    public static func fixed(_ value: Float, decimals: Int = 2) -> String {
        fixed(Double(value), decimals: decimals)
    }

    public static func fixed(_ value: Double, decimals: Int = 2) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        let text = String(format: "%.\(decimals)f", value)
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(text.dropFirst()) }
        return text
    }

    /// A weight as a whole percentage, "56%".
    public static func percent(_ value: Float) -> String {
        "\(Int((Double(value) * 100).rounded()))%"
    }

    /// A vector as "[0.12, -0.40, …]".
    public static func vector(_ values: [Float], decimals: Int = 2, limit: Int = 8) -> String {
        let shown = values.prefix(limit).map { fixed($0, decimals: decimals) }.joined(separator: ", ")
        return "[" + shown + (values.count > limit ? ", … (\(values.count) values)" : "") + "]"
    }
}

/// The sequential colour scale shared by the terminal, SVG and HTML views: light (0) to dark
/// blue (1), interpolated in sRGB through three stops of ColorBrewer's "Blues".
public enum ColorScale {
    static let stops: [(Double, Double, Double)] = [(247, 251, 255), (107, 174, 214), (8, 48, 107)]

    /// The colour of `value` clamped to 0…1, as 8-bit RGB.
    public static func rgb(_ value: Float) -> (r: Int, g: Int, b: Int) {
        let v = Double(value.isFinite ? min(max(value, 0), 1) : 0)
        let position = v * Double(stops.count - 1)
        let i = min(Int(position), stops.count - 2)
        let f = position - Double(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// "#rrggbb" for SVG and HTML.
    public static func hex(_ value: Float) -> String {
        let c = rgb(value)
        return String(format: "#%02x%02x%02x", c.r, c.g, c.b)
    }

    /// Whether text on this colour should be white (dark background) for contrast.
    public static func needsLightText(_ value: Float) -> Bool {
        let c = rgb(value)
        return 0.2126 * Double(c.r) + 0.7152 * Double(c.g) + 0.0722 * Double(c.b) < 128
    }

    /// The ASCII shade for a weight: ten levels " .:-=+*#%@", each 0.1 wide.
    public static func shade(_ value: Float) -> Character {
        let levels = Array(" .:-=+*#%@")
        let v = value.isFinite ? min(max(value, 0), 1) : 0
        return levels[min(Int(v * 10), 9)]
    }
}
