import Foundation
import Pretrained
import Testing

/// The tokenizer's rules on a small hand-made vocabulary (runs without the model).
@Suite struct TokenizerTests {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "un", "##aff", "##able", "aff", "able", "a", "##a", "##aa", "b", "c", ",", "!", "'", "s",
        "cafe", "hello", "world", "中", "文", "$", "σ", "##σ", "ο", "##δ", "##ο",
    ]

    static func tokenizer(maximumSequenceLength: Int = 512, lowercases: Bool = true) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(
            vocabulary: vocabulary, basicTokenizer: BasicTokenizer(lowercases: lowercases),
            maximumSequenceLength: maximumSequenceLength)
    }

    static func pieces(_ text: String, maximumSequenceLength: Int = 512) throws -> [String] {
        let t = try tokenizer(maximumSequenceLength: maximumSequenceLength)
        return t.tokens(for: t.encode(text))
    }

    @Test(arguments: [
        ("unaffable", ["[CLS]", "un", "##aff", "##able", "[SEP]"]),  // greedy longest match with ##
        ("aaaa", ["[CLS]", "a", "##aa", "##a", "[SEP]"]),             // longest first: ##aa before ##a
        ("unaffablex", ["[CLS]", "[UNK]", "[SEP]"]),                 // one unmatched tail → whole word unknown
        ("Hello, World!", ["[CLS]", "hello", ",", "world", "!", "[SEP]"]),
        ("hello's", ["[CLS]", "hello", "'", "s", "[SEP]"]),
        ("Café", ["[CLS]", "cafe", "[SEP]"]),                         // NFD + accent strip + lower
        ("ca\u{0301}fe\u{0000}", ["[CLS]", "cafe", "[SEP]"]),         // combining mark, NUL removed
        ("hello\u{00A0}\u{2028}world", ["[CLS]", "hello", "world", "[SEP]"]),  // Unicode whitespace
        ("a中文b", ["[CLS]", "a", "中", "文", "b", "[SEP]"]),          // CJK ideographs split
        ("$a", ["[CLS]", "$", "a", "[SEP]"]),                         // ASCII symbol counts as punctuation
        ("ΟΔΟΣ", ["[CLS]", "ο", "##δ", "##ο", "##σ", "[SEP]"]),       // no final-sigma context
        ("x[MASK]y", ["[CLS]", "[UNK]", "[MASK]", "[UNK]", "[SEP]"]), // special tokens in raw text
        ("", ["[CLS]", "[SEP]"]),
        (" \t\n", ["[CLS]", "[SEP]"]),
    ])
    func piecesOfText(text: String, expected: [String]) throws {
        #expect(try Self.pieces(text) == expected, "case \"\(text.caseLabel)\"")
    }

    @Test func wordsLongerThanTheLimitAreUnknown() throws {
        // 100 characters is still split: a + 49 × ##aa + ##a.
        #expect(try Self.pieces(String(repeating: "a", count: 100)).count == 2 + 51)
        #expect(try Self.pieces(String(repeating: "a", count: 101)) == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test(arguments: [2, 3, 7])
    func truncatesToTheSequenceLength(limit: Int) throws {
        let pieces = try Self.pieces(String(repeating: "b ", count: 20), maximumSequenceLength: limit)
        #expect(pieces.count == limit, "limit \(limit)")
        #expect(pieces.first == "[CLS]" && pieces.last == "[SEP]", "limit \(limit)")
    }

    @Test func missingSpecialTokenIsAnError() {
        #expect(throws: PretrainedError.missingSpecialToken("[CLS]")) {
            try WordPieceTokenizer(vocabulary: ["[UNK]", "[SEP]", "a"])
        }
    }

    @Test func casedTokenizerKeepsCaseAndAccents() {
        let basic = BasicTokenizer(lowercases: false)
        #expect(basic.words("Café Ünï").map { String(String.UnicodeScalarView($0)) } == ["Café", "Ünï"])
    }

    @Test func loadsFromAFolderAndExplainsMissingFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attend-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: PretrainedError.self) { try WordPieceTokenizer(modelDirectory: folder) }
        try (Self.vocabulary.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"{"max_seq_length": 5}"#.write(to: folder.appendingPathComponent("sentence_bert_config.json"), atomically: true, encoding: .utf8)
        let tokenizer = try WordPieceTokenizer(modelDirectory: folder)
        #expect(tokenizer.maximumSequenceLength == 5)
        #expect(tokenizer.vocabulary.count == Self.vocabulary.count)
        try "{not json".write(to: folder.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        #expect(throws: PretrainedError.self) { try WordPieceTokenizer(modelDirectory: folder) }
    }
}
