/// BERT's WordPiece tokenizer: text → token ids, exactly as the reference tokenizer
/// (Hugging Face `tokenizers`, used by `transformers` and sentence-transformers).
///
/// `encode` runs, in order:
/// 1. **Special tokens in the raw text** (`[CLS]`, `[SEP]`, `[MASK]`, `[PAD]`, `[UNK]`,
///    matched exactly and case-sensitively, longest first) are kept as single tokens.
/// 2. Every other stretch goes through ``BasicTokenizer`` into words.
/// 3. **WordPiece**: each word is split greedily into the longest vocabulary entries, left to
///    right, continuations carrying the `##` prefix (`unaffable` → `un ##aff ##able`). A word
///    with no complete split, or longer than ``maximumCharactersPerWord`` characters, becomes
///    one `[UNK]`.
/// 4. `[CLS] … [SEP]` around the pieces, truncated to ``maximumSequenceLength`` ids in all.
public struct WordPieceTokenizer: Sendable {
    /// Token string → id (`vocab.txt` line number, from 0).
    public let vocabulary: [String: Int]
    /// Id → token string.
    public let tokens: [String]
    public let basicTokenizer: BasicTokenizer
    /// Ids of `[CLS]`, `[SEP]`, `[UNK]`, `[PAD]`.
    public let classificationID: Int, separatorID: Int, unknownID: Int, paddingID: Int
    /// The most ids one encoded text may have, `[CLS]` and `[SEP]` included.
    public var maximumSequenceLength: Int
    /// Longer words become `[UNK]` without being split (BERT's 100).
    public var maximumCharactersPerWord = 100
    /// Special tokens matched in the raw text, longest first.
    let specialTokens: [(text: [Unicode.Scalar], id: Int)]

    /// Builds a tokenizer from the lines of `vocab.txt` (line `i` is token id `i`).
    ///
    /// - Throws: ``PretrainedError/missingSpecialToken(_:)`` when `[CLS]`, `[SEP]` or
    ///   `[UNK]` is absent.
    public init(
        vocabulary lines: [String], basicTokenizer: BasicTokenizer = BasicTokenizer(),
        maximumSequenceLength: Int = 512,
        classificationToken: String = "[CLS]", separatorToken: String = "[SEP]",
        unknownToken: String = "[UNK]", paddingToken: String = "[PAD]", maskToken: String = "[MASK]"
    ) throws {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(lines.count)
        for (id, token) in lines.enumerated() { vocabulary[token] = id }
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else { throw PretrainedError.missingSpecialToken(token) }
            return id
        }
        self.vocabulary = vocabulary
        self.tokens = lines
        self.basicTokenizer = basicTokenizer
        self.maximumSequenceLength = max(2, maximumSequenceLength)
        self.classificationID = try id(classificationToken)
        self.separatorID = try id(separatorToken)
        self.unknownID = try id(unknownToken)
        self.paddingID = vocabulary[paddingToken] ?? 0
        let specials = [paddingToken, unknownToken, classificationToken, separatorToken, maskToken]
        self.specialTokens = specials.compactMap { token in
            vocabulary[token].map { (Array(token.unicodeScalars), $0) }
        }.sorted { $0.text.count > $1.text.count }
    }

    /// Token ids for one text: `[CLS] pieces… [SEP]`, at most ``maximumSequenceLength``.
    public func encode(_ text: String) -> [Int] {
        // Room for this many ids before [SEP]: [CLS] plus maximumSequenceLength − 2 pieces.
        encode(text, limit: maximumSequenceLength - 1)
    }

    /// How many ids `text` would need without truncation (`[CLS]` and `[SEP]` included): more
    /// than ``maximumSequenceLength`` means ``encode(_:)`` drops the end of the text.
    public func untruncatedLength(_ text: String) -> Int {
        encode(text, limit: Int.max).count
    }

    private func encode(_ text: String, limit: Int) -> [Int] {
        var ids = [classificationID]
        for segment in segments(text) where ids.count < limit {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let stretch):
                for word in basicTokenizer.words(stretch) where ids.count < limit {
                    appendPieces(of: word, to: &ids)
                }
            }
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        ids.append(separatorID)
        return ids
    }

    /// The token strings for `ids` (e.g. `["[CLS]", "un", "##aff", "##able", "[SEP]"]`).
    public func tokens(for ids: [Int]) -> [String] {
        ids.map { $0 >= 0 && $0 < tokens.count ? tokens[$0] : "[UNK]" }
    }

    /// Greedy longest-match-first WordPiece of one word, appended to `ids`.
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int]) {
        if word.count > maximumCharactersPerWord { ids.append(unknownID); return }
        let start = ids.count
        var begin = 0
        while begin < word.count {
            var end = word.count
            var match: Int? = nil
            while begin < end {
                var view = String.UnicodeScalarView()
                if begin > 0 { view.append(contentsOf: "##".unicodeScalars) }
                view.append(contentsOf: word[begin..<end])
                if let id = vocabulary[String(view)] { match = id; break }
                end -= 1
            }
            guard let match else {
                // No piece fits here: the whole word is unknown, not just its tail.
                ids.removeLast(ids.count - start)
                ids.append(unknownID)
                return
            }
            ids.append(match)
            begin = end
        }
    }

    enum Segment { case text(String), special(Int) }

    /// Splits raw text at exact occurrences of special tokens (leftmost, longest first).
    func segments(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var out: [Segment] = []
        var pending = String.UnicodeScalarView()
        var i = 0
        scan: while i < scalars.count {
            for special in specialTokens
            where special.text.first == scalars[i] && i + special.text.count <= scalars.count {
                if scalars[i..<(i + special.text.count)].elementsEqual(special.text) {
                    if !pending.isEmpty { out.append(.text(String(pending))); pending = String.UnicodeScalarView() }
                    out.append(.special(special.id))
                    i += special.text.count
                    continue scan
                }
            }
            pending.append(scalars[i])
            i += 1
        }
        if !pending.isEmpty { out.append(.text(String(pending))) }
        return out
    }
}
