/// BERT's character classes, as the reference tokenizer (Hugging Face `tokenizers`, which
/// `transformers` and sentence-transformers use) computes them.
///
/// Two of its tables are frozen at an old Unicode version: the general categories behind
/// "control", "punctuation" and "non-spacing mark" come from the `unicode_categories` crate
/// (Unicode 8.0), while whitespace, lower-casing and NFD use current tables. So a character
/// added after Unicode 8.0 (e.g. U+2E43 `⹃`, Po since 9.0) is *not* punctuation for BERT and
/// stays inside its word. We reproduce that with the scalar's `age`: a category counts only
/// if the character was assigned by Unicode 8.0. The reference tests pin this behaviour.
extension Unicode.Scalar {
    /// Whether the character existed in Unicode 8.0, the version of the category tables.
    var isAssignedByUnicode8: Bool {
        guard let age = properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Removed by BERT's text cleaning: NUL, U+FFFD, and every "other" character (Cc, Cf,
    /// Co, Cs) except tab, newline and carriage return, which count as whitespace.
    var isBERTRemovable: Bool {
        if value == 0 || value == 0xFFFD { return true }
        if self == "\t" || self == "\n" || self == "\r" { return false }
        switch properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return isAssignedByUnicode8
        default: return false
        }
    }

    /// The Unicode White_Space property (Rust's `char::is_whitespace`), which includes tab,
    /// newline, carriage return, U+00A0, U+2028 and U+3000.
    var isBERTWhitespace: Bool { properties.isWhitespace }

    /// BERT's punctuation: every ASCII symbol (33–47, 58–64, 91–96, 123–126, so `$`, `^`,
    /// `` ` `` and `|` count although they are not category P) plus Unicode categories Pc, Pd,
    /// Pe, Pf, Pi, Po and Ps. Each such character becomes a word of its own.
    var isBERTPunctuation: Bool {
        let v = value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
             .initialPunctuation, .otherPunctuation, .openPunctuation:
            return isAssignedByUnicode8
        default:
            return false
        }
    }

    /// A non-spacing combining mark (Mn), dropped after NFD when accents are stripped.
    var isBERTNonspacingMark: Bool {
        properties.generalCategory == .nonspacingMark && isAssignedByUnicode8
    }

    /// A CJK ideograph, which BERT surrounds with spaces so each becomes its own word.
    /// These are the CJK Unified Ideographs blocks and extensions A–E plus the two
    /// compatibility blocks; Hiragana, Katakana and Hangul are deliberately not included.
    var isCJKIdeograph: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
