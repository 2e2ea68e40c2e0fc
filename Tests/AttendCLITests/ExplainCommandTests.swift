import Foundation
import Testing

/// `attend explain` end to end: the steps, colour, JSON, worked examples and bad input.
@Suite struct ExplainCommandTests {
    @Test func walksEveryStepAndFollowsTheFocus() throws {
        let r = try AttendProcess.run(["explain", "The cat sat on the mat", "--focus", "sat"])
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
        for step in 1...8 { #expect(r.stdout.contains("Step \(step) · "), "step \(step) is printed") }
        #expect(r.stdout.contains("toy model (random weights"), "says the weights are random")
        #expect(r.stdout.contains("Focus: \"sat\" (token 3)") && r.stdout.contains("z(sat) = "), "the focus section")
        #expect(r.stdout.range(of: #"\d\.\d\d × v\(\w+\) \+ "#, options: .regularExpression) != nil, "the weighted sum is written out")
        #expect(!r.stdout.contains("\u{1B}"), "NO_COLOR: no escape codes")
    }

    @Test func colourFlagOverridesTheEnvironment() throws {
        let always = try AttendProcess.run(["explain", "a b c", "--color", "always"])
        #expect(always.status == 0 && always.stdout.contains("\u{1B}[48;2;"), "--color always draws 24-bit cells even with NO_COLOR")
        let never = try AttendProcess.run(["explain", "a b c", "--color", "never"], environment: ["NO_COLOR": nil])
        #expect(never.status == 0 && !never.stdout.contains("\u{1B}"), "--color never: plain text")
        let piped = try AttendProcess.run(["explain", "a b c"], environment: ["NO_COLOR": nil])
        #expect(!piped.stdout.contains("\u{1B}"), "auto: a pipe is not a terminal, so no colour")
    }

    /// The JSON intermediates are the numbers the text prints (heatmap weights and Z, rounded).
    @Test(arguments: [["The cat sat on the mat"], ["How are you doing?", "--layer", "2", "--head", "2"]])
    func jsonMatchesThePrintedOutput(arguments: [String]) throws {
        let text = try AttendProcess.run(["explain"] + arguments + ["--color", "never"])
        let json = try AttendProcess.run(["explain"] + arguments + ["--json"])
        #expect(text.status == 0 && json.status == 0, "\(arguments): \(text.stderr) \(json.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let head = (root["head"] as? Int ?? 1) - 1
        let steps = try #require(root["steps"] as? [String: Any])
        let heads = try #require(steps["heads"] as? [[String: Any]])
        let tokens = try #require(root["tokens"] as? [String])
        func rows(_ object: Any?) throws -> [[String]] {
            let data = try #require((object as? [String: Any])?["data"] as? [[NSNumber]])
            return data.map { $0.map { Self.format($0.doubleValue) } }
        }
        let weights = try rows(heads[head]["weights"])
        let z = try rows(heads[head]["Z"])
        let printedWeights = Self.block(after: "Step 6 · ", in: text.stdout, rows: tokens.count)
        let printedZ = Self.block(after: "Step 7 · ", in: text.stdout, rows: tokens.count)
        #expect(printedWeights == weights, "\(arguments): heatmap numbers = JSON weights\n\(printedWeights)\n\(weights)")
        #expect(printedZ == z, "\(arguments): printed Z = JSON Z\n\(printedZ)\n\(z)")
    }

    static func format(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        return s == "-0.00" ? "0.00" : s
    }

    /// The numbers of the `rows` table rows after the header line of a step.
    static func block(after marker: String, in text: String, rows: Int) -> [[String]] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(marker) }) else { return [] }
        let numberRows = lines[(start + 1)...].filter { $0.range(of: #"^  \S.*\d\.\d\d"#, options: .regularExpression) != nil }
        return numberRows.prefix(rows).map { line in
            line.split(separator: " ").map(String.init).filter { $0.range(of: #"^-?\d+\.\d\d$"#, options: .regularExpression) != nil }
        }
    }

    @Test func exampleReplaysTheSeedsNumbers() throws {
        let text = try AttendProcess.run(["explain", "--example", "it-cat"])
        #expect(text.status == 0 && text.stdout.contains("= 0.72 + 0.02 + 0 + 0.02 + 0.09 = 0.85"), "seed 000's sum: \(text.stdout.prefix(800))")
        let json = try AttendProcess.run(["explain", "--example", "it-cat", "--json"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let score = try #require(root["scoreItCat"] as? Double)
        #expect(abs(score - 0.85) < 1e-6, "JSON score \(score)")
        let list = try AttendProcess.run(["explain", "--list-examples"])
        for name in ["it-cat", "sat", "how-are-you", "three-tokens", "scaling"] {
            #expect(list.stdout.contains(name), "--list-examples names \(name)")
            let run = try AttendProcess.run(["explain", "--example", name])
            #expect(run.status == 0 && run.stdout.contains("Worked example \"\(name)\""), "example \(name) runs: \(run.stderr)")
        }
    }

    @Test func invalidUTF8IsRefusedThenShownAsEscapes() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("bad.txt")
        try Data([0x63, 0x61, 0xFF, 0x74, 0x20, 0x73, 0x61, 0x74]).write(to: file)
        let refused = try AttendProcess.run(["explain", "--file", file.path])
        #expect(refused.status != 0 && refused.exitedNormally, "invalid UTF-8 is refused with an exit code")
        #expect(refused.stderr.contains("ca\\xFFt sat") && refused.stderr.contains("offset 2"), "the bytes are shown as escapes: \(refused.stderr)")
        let allowed = try AttendProcess.run(["explain", "--file", file.path, "--allow-invalid-utf8", "--focus", "ca\\xFFt"])
        #expect(allowed.status == 0 && allowed.stdout.contains("ca\\xFFt"), "allowed: the token label keeps the escape: \(allowed.stderr)")
        let stdin = try AttendProcess.run(["explain", "--file", "-", "--tokens", "bytes"], input: Data("hi there\n".utf8))
        #expect(stdin.status == 0 && stdin.stdout.contains("Word level"), "text from standard input, byte tokens, word view: \(stdin.stderr)")
    }

    static let badExplainCases: [([String], String)] = [
        (["explain", ""], "the text is empty"),
        (["explain", "  \t "], "the text is empty"),
        (["explain", Array(repeating: "word", count: 70).joined(separator: " ")], "would be cut"),
        (["explain", "The cat", "--focus", "dog"], "no token 'dog' to focus on"),
        (["explain", "--model", "/nonexistent/model"], "model directory not found"),
        (["explain", "--model", "/tmp"], "cannot use the model at /tmp: it is not a TinyLLM model folder"),
        (["explain", "The cat", "--layer", "9"], "--layer 9 is out of range"),
        (["explain", "The cat", "--head", "0"], "--head 0 is out of range"),
        (["explain", "--example", "dog"], "Valid names: it-cat"),
        (["explain", "--example", "sat", "more text"], "either --example or a text"),
        (["explain", "x", "--color", "purple"], "--color must be auto, always or never"),
        (["explain", "x", "--tokens", "letters"], "--tokens must be 'words' or 'bytes'"),
        (["explain", "--file", "/nonexistent/file.txt"], "cannot read '/nonexistent/file.txt'"),
    ]

    @Test(arguments: badExplainCases)
    func badInputGivesAClearMessageAndNonZeroExit(arguments: [String], message: String) throws {
        let r = try AttendProcess.run(arguments)
        #expect(r.exitedNormally, "\(arguments.prefix(3)): exited by signal (a crash)")
        #expect(r.status != 0, "\(arguments.prefix(3)): exit status \(r.status)")
        #expect(r.stderr.contains(message), "\(arguments.prefix(3)): stderr should contain \"\(message)\":\n\(r.stderr)")
    }

    @Test func truncateKeepsTheStartAndSaysWhatWasCut() throws {
        let words = (1...70).map { "w\($0)" }.joined(separator: " ")
        let r = try AttendProcess.run(["explain", words, "--truncate"])
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
        #expect(r.stdout.contains("cut to the context of 64 tokens") && r.stdout.contains("\"w65\""), "names what was cut")
    }
}
