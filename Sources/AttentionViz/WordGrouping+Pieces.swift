extension WordGrouping {
    /// The grouping of WordPiece tokens into words: a `##` piece continues the word before it
    /// ("play", "##ing" → "playing"), every other token starts a new word, and special tokens
    /// (`[CLS]`, `[SEP]`, anything in `[…]`) are words of their own, so a word-level row
    /// still sums to 1 (BERT heads often put most of their weight on `[CLS]` and `[SEP]`).
    public init(wordPieces tokens: [String]) {
        var wordOfToken: [Int?] = []
        var words: [String] = []
        func isSpecial(_ token: String) -> Bool { token.count > 2 && token.hasPrefix("[") && token.hasSuffix("]") }
        var previousIsSpecial = true
        for token in tokens {
            if token.hasPrefix("##") && token.count > 2 && !previousIsSpecial, let last = wordOfToken.last ?? nil {
                words[last] += token.dropFirst(2)
                wordOfToken.append(last)
            } else {
                words.append(token)
                wordOfToken.append(words.count - 1)
                previousIsSpecial = isSpecial(token)
            }
        }
        self.init(wordOfToken: wordOfToken, words: words)
    }
}
