import Foundation
import Testing

/// `tinyllm-utf8`: the multilingual bundled model by name, and a tiny model trained on the
/// multilingual corpus (`../shared/data/utf8-multilingual.txt`, beside the clone; the tests that
/// need it say so and are skipped when it is absent).
@Suite(.serialized) struct UTF8ModelCommandTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/utf8-multilingual.txt")
    static var corpusPresent: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    @Test func tinyllmUTF8ResolvesWithoutAPath() throws {
        // No override: the bundled file, found beside the executable.
        let environment: [String: String?] = ["ATTEND_TINYLLM_UTF8_MODEL": nil]
        let explain = try AttendProcess.run(["explain", "--model", "tinyllm-utf8", "Москва 北京 😀", "--json"], environment: environment)
        #expect(explain.status == 0, "explain exited \(explain.status): \(explain.stderr)")
        #expect(explain.stdout.contains("tinyllm-utf8"), "\(explain.stdout.prefix(300))")
        let generate = try AttendProcess.run(["generate", "--model", "tinyllm-utf8", "--prompt", "Москва", "--max-bytes", "30",
                                              "--temperature", "0"], environment: environment)
        #expect(generate.status == 0, "generate exited \(generate.status): \(generate.stderr)")
        #expect(generate.stdout.hasPrefix("Москва"), "\(generate.stdout)")
        let attribute = try AttendProcess.run(["attribute", "--model", "tinyllm-utf8", "--focus", "#3", "北京"], environment: environment)
        #expect(attribute.status == 0, "attribute exited \(attribute.status): \(attribute.stderr)")
    }

    @Test(.enabled(if: corpusPresent, "needs ../shared/data/utf8-multilingual.txt beside the clone"))
    func tinyModelTrainedOnTheCorpusSamplesValidUTF8AndLoadsByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attend-utf8-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = directory.appendingPathComponent("run")
        let train = try AttendProcess.run(["train", "--corpus", Self.corpus.path, "--preset", "tiny", "--steps", "30",
                                           "--batch-size", "8", "--out", run.path, "--json"])
        #expect(train.status == 0, "train exited \(train.status): \(train.stderr)")
        let model = run.appendingPathComponent("model.safetensors").path
        for prompt in ["Москва", "北京", "Příliš", "😀"] {
            let result = try AttendProcess.run(["generate", "--model", "tinyllm-utf8", "--prompt", prompt, "--max-bytes", "200", "--seed", "3"],
                                               environment: ["ATTEND_TINYLLM_UTF8_MODEL": model])
            #expect(result.status == 0, "generate exited \(result.status): \(result.stderr)")
            // What reaches standard output is valid UTF-8: the raw bytes, not String's repairs.
            #expect(String(validating: result.stdoutData, as: UTF8.self) != nil, "\(result.stdoutData.map { $0 })")
            #expect(result.stdout.hasPrefix(prompt), "\(result.stdout)")
        }
    }

    @Test func byteLevelExamplesAreListedAndBadInputIsRefused() throws {
        let list = try AttendProcess.run(["explain", "--list-examples"])
        #expect(list.status == 0 && list.stdout.contains("utf8-bytes") && list.stdout.contains("byte-pairs") && list.stdout.contains("word-boundaries"))
        let missing = try AttendProcess.run(["explain", "--example", "byte-pairs", "--corpus", "/nonexistent/corpus.txt"])
        #expect(missing.status != 0 && missing.stderr.contains("corpus not found"), "\(missing.stderr)")
        let html = try AttendProcess.run(["view", "--byte-pairs", "--out", "pairs.html"])
        #expect(html.status != 0 && html.stderr.contains("SVG"), "\(html.stderr)")
    }
}
