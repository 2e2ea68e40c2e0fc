/// Resolving `--focus TOKEN` to a token (or, for byte-level models, a word) index.
///
/// Accepted forms: `mat` (the first token whose label is `mat`, exact match first, then
/// ignoring case), `the#2` (its second occurrence), `#3` (the third token, 1-based).
public enum FocusToken {
    public enum Target: Equatable, Sendable {
        /// An index into the source's tokens.
        case token(Int)
        /// An index into the source's words (byte-level models: the word-level view).
        case word(Int)
    }

    /// - Throws: ``VizError/unknownFocus`` listing the labels that would have matched.
    public static func resolve(_ query: String, tokens: [String], words: [String]? = nil) throws -> Target {
        if query.hasPrefix("#"), let index = Int(query.dropFirst()) {
            guard index >= 1 && index <= tokens.count else { throw VizError.unknownFocus(token: query, tokens: tokens) }
            return .token(index - 1)
        }
        var name = query
        var occurrence = 1
        if let hash = query.lastIndex(of: "#"), hash != query.startIndex, let n = Int(query[query.index(after: hash)...]), n >= 1 {
            name = String(query[..<hash])
            occurrence = n
        }
        if let index = find(name, occurrence: occurrence, in: tokens) { return .token(index) }
        if let words, let index = find(name, occurrence: occurrence, in: words) { return .word(index) }
        throw VizError.unknownFocus(token: query, tokens: words ?? tokens)
    }

    static func find(_ name: String, occurrence: Int, in labels: [String]) -> Int? {
        for matches in [{ (label: String) in label == name },
                        { (label: String) in label.lowercased() == name.lowercased() }] {
            let indices = labels.indices.filter { matches(labels[$0]) }
            if indices.count >= occurrence { return indices[occurrence - 1] }
        }
        return nil
    }
}
