import Foundation

/// BERT's text normalisation and pre-tokenisation: raw text → words.
///
/// In order (the order matters, and is the reference tokenizer's `BertNormalizer` followed by
/// `BertPreTokenizer`):
/// 1. **Clean**: drop NUL, U+FFFD and control/format/private-use characters; map every
///    whitespace character (tab, newline, U+00A0, U+2028, U+3000, …) to a space.
/// 2. **CJK**: put spaces around every CJK ideograph, so each is its own word.
/// 3. **Strip accents** (when configured, by default whenever lower-casing): Unicode NFD,
///    then drop non-spacing marks (`é` → `e` + U+0301 → `e`; Hangul syllables become jamo).
/// 4. **Lower-case** (when configured): each character's full lower-case mapping, with no
///    context (`Σ` → `σ` even at the end of a word, unlike Python's `str.lower`).
/// 5. **Split** on whitespace, and make every punctuation character its own word.
public struct BasicTokenizer: Sendable, Equatable {
    /// Lower-case the text (uncased models).
    public var lowercases: Bool
    /// Strip accents; `nil` follows `lowercases`, as in BERT's configuration.
    public var stripsAccents: Bool?
    /// Surround CJK ideographs with spaces.
    public var splitsCJKIdeographs: Bool

    public init(lowercases: Bool = true, stripsAccents: Bool? = nil, splitsCJKIdeographs: Bool = true) {
        self.lowercases = lowercases
        self.stripsAccents = stripsAccents
        self.splitsCJKIdeographs = splitsCJKIdeographs
    }

    /// Steps 1–4: the normalised text as Unicode scalars.
    public func normalized(_ text: String) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count + 8)
        for scalar in text.unicodeScalars where !scalar.isBERTRemovable {
            if scalar.isBERTWhitespace {
                scalars.append(" ")
            } else if splitsCJKIdeographs && scalar.isCJKIdeograph {
                scalars.append(" "); scalars.append(scalar); scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        if stripsAccents ?? lowercases {
            scalars = Self.canonicalDecomposition(scalars).filter { !$0.isBERTNonspacingMark }
        }
        if lowercases {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(scalars.count)
            for scalar in scalars {
                // Most text is ASCII; skip the mapping lookup for it.
                if scalar.isASCII {
                    let v = scalar.value
                    lowered.append((65...90).contains(v) ? Unicode.Scalar(UInt8(v + 32)) : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            scalars = lowered
        }
        return scalars
    }

    /// Steps 1–5: the words, each a run of scalars.
    public func words(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in normalized(text) {
            if scalar.isBERTWhitespace {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if scalar.isBERTPunctuation {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Unicode canonical decomposition (NFD), skipped for pure ASCII, which it cannot change.
    static func canonicalDecomposition(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if scalars.allSatisfy(\.isASCII) { return scalars }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return Array(String(view).decomposedStringWithCanonicalMapping.unicodeScalars)
    }
}
