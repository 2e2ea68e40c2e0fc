/// Splitting text (as raw bytes) into word-level tokens, and labelling any bytes for display.
///
/// One segmentation serves two models: the toy model's tokens are the words themselves, and a
/// byte-level model (TinyLLM) maps each byte to the word that contains it, so that byte
/// attention can be aggregated to words with ``WordAggregation``.
public enum TextSegmentation {
    /// One word-level token: its byte range in the input and its display label.
    public struct Word: Sendable, Equatable {
        public var byteRange: Range<Int>
        public var label: String
    }

    /// Words of `bytes`: maximal runs of letters/digits (any non-ASCII byte counts as a letter,
    /// so UTF-8 words stay whole), every ASCII punctuation byte its own word, whitespace and
    /// other control bytes separating. "How are you doing?" → How, are, you, doing, ?.
    public static func words(_ bytes: [UInt8]) -> [Word] {
        var words: [Word] = []
        var start: Int? = nil
        func close(at end: Int) {
            if let s = start { words.append(Word(byteRange: s..<end, label: label(bytes[s..<end]))) }
            start = nil
        }
        for (index, byte) in bytes.enumerated() {
            if isWordByte(byte) {
                if start == nil { start = index }
            } else {
                close(at: index)
                if isPunctuation(byte) {
                    words.append(Word(byteRange: index..<(index + 1), label: label(bytes[index..<(index + 1)])))
                }
            }
        }
        close(at: bytes.count)
        return words
    }

    /// For each byte, the index of the word containing it, or `nil` for separators.
    public static func wordIndexOfEachByte(_ bytes: [UInt8]) -> [Int?] {
        var result = [Int?](repeating: nil, count: bytes.count)
        for (wordIndex, word) in words(bytes).enumerated() {
            for byteIndex in word.byteRange { result[byteIndex] = wordIndex }
        }
        return result
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
            || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    static func isPunctuation(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && !isWordByte(byte)
    }

    /// The offset of the first byte that is not part of valid UTF-8, or `nil` when all are.
    public static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var offset = 0
        for piece in decodePieces(bytes[...]) {
            if case .invalid = piece { return offset }
            offset += piece.byteCount
        }
        return nil
    }

    /// A printable label for bytes: valid UTF-8 decoded, control characters and invalid bytes
    /// escaped (`\n`, `\t`, `\u{7}`, `\xFF`) so one label never moves the terminal cursor.
    public static func label<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = ""
        for piece in decodePieces(Array(bytes)[...]) {
            switch piece {
            case let .scalar(scalar, _):
                out += escaped(scalar)
            case let .invalid(byte):
                out += "\\x" + hex2(byte)
            }
        }
        return out
    }

    /// A label for one byte of a byte-level model: printable ASCII as itself, the rest escaped.
    public static func byteLabel(_ byte: UInt8) -> String {
        if byte == 0x20 { return "␠" }
        if byte > 0x20 && byte < 0x7F { return String(UnicodeScalar(byte)) }
        switch byte {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        default: return "\\x" + hex2(byte)
        }
    }

    static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\t": return "\\t"
        case "\r": return "\\r"
        default: break
        }
        let v = scalar.value
        // C0, DEL, C1 controls, and the bidi overrides/isolates that reorder a terminal line.
        if v < 0x20 || (v >= 0x7F && v < 0xA0) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            || v == 0x2028 || v == 0x2029 {
            return "\\u{" + String(v, radix: 16, uppercase: true) + "}"
        }
        return String(scalar)
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    enum Piece {
        case scalar(Unicode.Scalar, byteCount: Int)
        case invalid(UInt8)
        var byteCount: Int {
            switch self {
            case let .scalar(_, count): return count
            case .invalid: return 1
            }
        }
    }

    /// Decodes UTF-8 by hand so that each invalid byte is reported on its own (the standard
    /// decoder replaces a whole maximal invalid subpart with one U+FFFD and loses the bytes).
    static func decodePieces(_ bytes: ArraySlice<UInt8>) -> [Piece] {
        var pieces: [Piece] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b0 = bytes[i]
            let length: Int
            var minimum: UInt32 = 0
            var value: UInt32
            switch b0 {
            case 0x00...0x7F: pieces.append(.scalar(Unicode.Scalar(b0), byteCount: 1)); i += 1; continue
            case 0xC2...0xDF: length = 2; value = UInt32(b0 & 0x1F); minimum = 0x80
            case 0xE0...0xEF: length = 3; value = UInt32(b0 & 0x0F); minimum = 0x800
            case 0xF0...0xF4: length = 4; value = UInt32(b0 & 0x07); minimum = 0x10000
            default: pieces.append(.invalid(b0)); i += 1; continue
            }
            var ok = i + length <= bytes.endIndex
            if ok {
                for k in 1..<length {
                    let b = bytes[i + k]
                    if b & 0xC0 != 0x80 { ok = false; break }
                    value = value << 6 | UInt32(b & 0x3F)
                }
            }
            if ok, value >= minimum, value <= 0x10FFFF, let scalar = Unicode.Scalar(value) {
                pieces.append(.scalar(scalar, byteCount: length))
                i += length
            } else {
                pieces.append(.invalid(b0))
                i += 1
            }
        }
        return pieces
    }
}
