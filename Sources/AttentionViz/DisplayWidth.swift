/// Terminal column widths of labels, so that tables line up with wide (CJK, emoji) and
/// zero-width (combining) characters. A small `wcwidth`: exact for the common ranges, and
/// labels are escaped by ``TextSegmentation/label(_:)`` first, so no control character remains.
public enum DisplayWidth {
    /// Columns a string occupies in a terminal.
    public static func of(_ text: String) -> Int {
        var width = 0
        for scalar in text.unicodeScalars { width += of(scalar) }
        return width
    }

    /// Columns one scalar occupies: 0 for combining marks and joiners, 2 for wide, else 1.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v == 0x200D || (0xFE00...0xFE0F).contains(v) || (0x200B...0x200F).contains(v) { return 0 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if isWide(v) { return 2 }
        return 1
    }

    static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x1F900...0x1F9FF).contains(v) || (0x1F680...0x1F6FF).contains(v) || (0x20000...0x3FFFD).contains(v)
            || (0x2600...0x26FF).contains(v) && Unicode.Scalar(v)?.properties.isEmojiPresentation == true
    }

    /// `text` cut or padded to exactly `width` columns; a cut label ends in "…".
    /// `alignRight` pads on the left (for numbers).
    public static func fitted(_ text: String, width: Int, alignRight: Bool = false) -> String {
        guard width > 0 else { return "" }
        var current = of(text)
        var result = text
        if current > width {
            result = ""
            current = 0
            for character in text {
                let w = of(String(character))
                if current + w > width - 1 { break }
                result.append(character)
                current += w
            }
            result += "…"
            current += 1
        }
        let padding = String(repeating: " ", count: max(0, width - current))
        return alignRight ? padding + result : result + padding
    }
}
