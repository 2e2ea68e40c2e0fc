import Foundation
import Testing

/// `attend generate` with several prompts: one batch, each output equal to that prompt alone.
@Suite(.serialized) struct GenerateBatchCommandTests {
    static let prompts = ["ROMEO:", "O", "Now is the winter of our discontent"]
    /// Sampling with top-k, past the bundled model's 128-byte context (every row slides).
    static let sampling = ["--max-bytes", "150", "--temperature", "0.9", "--top-k", "20", "--seed", "4"]

    /// `attend generate --prompt P` alone: the prompt, its continuation and a newline.
    static func alone(_ prompt: String) throws -> String {
        let result = try AttendProcess.run(["generate", "--prompt", prompt] + sampling)
        #expect(result.status == 0, "generate exited \(result.status): \(result.stderr)")
        return result.stdout
    }

    @Test func severalPromptsEqualEachAlone() throws {
        let singles = try Self.prompts.map(Self.alone)
        for (prompt, single) in zip(Self.prompts, singles) {
            #expect(single.hasPrefix(prompt) && single.hasSuffix("\n") && single.utf8.count > prompt.utf8.count + 100)
        }

        // --json: an array of {prompt, text}, text = the continuation alone.
        let json = try AttendProcess.run(["generate"] + Self.prompts.flatMap { ["--prompt", $0] } + Self.sampling + ["--json"])
        #expect(json.status == 0, "generate --json exited \(json.status): \(json.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: String]],
                                 "not a JSON array of objects: \(json.stdout)")
        #expect(items.map { $0["prompt"] } == Self.prompts.map { $0 })
        for (item, single) in zip(items, singles) {
            #expect((item["prompt"] ?? "") + (item["text"] ?? "") + "\n" == single)
        }

        // Text from a prompts file (CRLF line ends, a blank line) and from standard input.
        let expected = singles.enumerated().map { "==> \($0.offset + 1) <==\n" + $0.element }.joined(separator: "\n")
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("prompts.txt")
        try Data((Self.prompts[0] + "\r\n\n" + Self.prompts[1] + "\r\n" + Self.prompts[2]).utf8).write(to: file)
        let fromFile = try AttendProcess.run(["generate", "--prompts-file", file.path] + Self.sampling)
        #expect(fromFile.status == 0, "exited \(fromFile.status): \(fromFile.stderr)")
        #expect(fromFile.stdout == expected)
        let fromInput = try AttendProcess.run(["generate", "--prompts-file", "-", "--stats"] + Self.sampling,
                                              input: Data(Self.prompts.joined(separator: "\n").utf8))
        #expect(fromInput.stdout == expected)
        #expect(fromInput.stderr.contains("bytes/s") && fromInput.stderr.contains("3 prompts"), "stderr \(fromInput.stderr)")
    }

    @Test func badPromptInputIsAClearError() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.txt")
        try Data("\n\r\n\n".utf8).write(to: empty)
        let many = folder.appendingPathComponent("many.txt")
        try Data(String(repeating: "x\n", count: 257).utf8).write(to: many)
        let cases: [([String], Int32, String)] = [
            (["generate", "--prompts-file", empty.path], 64, "has no prompts"),
            (["generate", "--prompts-file", many.path], 64, "has 257 prompts; at most 256 per run"),
            (["generate", "--prompts-file", folder.appendingPathComponent("missing.txt").path], 1, "missing.txt"),
            (["generate"], 64, "give a prompt"),
            (["generate", "--prompt", "a", "--prompts-file", empty.path], 64, "not both"),
            (["generate", "--prompt", "a", "--prompt", "b", "--no-cache"], 64, "--no-cache works with one --prompt"),
        ]
        for (arguments, status, message) in cases {
            let result = try AttendProcess.run(arguments)
            #expect(result.status == status && result.stderr.contains(message), "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(arguments) printed \(result.stdout)")
        }
    }
}
