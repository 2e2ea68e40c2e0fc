import Foundation
import Testing

/// `--model DIR` with a real TinyLLM checkpoint: trained for a few steps here by `attend train`
/// (the weights barely moved; what matters is that the byte-level path and its word view run).
@Suite(.serialized) struct TinyLLMViewTests {
    /// A run folder with `model.safetensors` from the `tiny` preset (context 16 bytes).
    static func trainedRun() throws -> URL {
        let folder = try AttendProcess.temporaryFolder()
        let corpus = folder.appendingPathComponent("corpus.txt")
        let text = String(repeating: "The cat sat on the mat because it was tired. How are you doing? ", count: 40)
        try Data(text.utf8).write(to: corpus)
        let run = folder.appendingPathComponent("run")
        let r = try AttendProcess.run(["train", "--corpus", corpus.path, "--preset", "tiny", "--steps", "2", "--out", run.path])
        #expect(r.status == 0, "attend train: \(r.stderr.suffix(500))")
        return run
    }

    @Test func explainAndViewATinyLLMCheckpoint() throws {
        let run = try Self.trainedRun()
        defer { try? FileManager.default.removeItem(at: run.deletingLastPathComponent()) }
        let explain = try AttendProcess.run(["explain", "--model", run.path, "The cat sat", "--layer", "2", "--head", "2", "--focus", "cat"])
        #expect(explain.status == 0, "explain --model: \(explain.stderr)")
        #expect(explain.stdout.contains("TinyLLM") && explain.stdout.contains("bytes as tokens, causal"), "names the model")
        #expect(explain.stdout.contains("1:T 2:h 3:e 4:␠"), "byte tokens, space shown as ␠")
        #expect(explain.stdout.contains("Word level: layer 2 of 2, head 2"), "the word-level view")
        #expect(explain.stdout.contains("Focus: \"cat\" (word 2)"), "--focus on a word of a byte model uses the word view")

        let json = try AttendProcess.run(["explain", "--model", run.path, "The cat sat", "--json"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(root["steps"] as? [String: Any])
        #expect(steps["causal"] as? Bool == true, "causal mask recorded")
        let heads = try #require(steps["heads"] as? [[String: Any]])
        let weights = try #require((heads[0]["weights"] as? [String: Any])?["data"] as? [[Double]])
        for (i, row) in weights.enumerated() {
            #expect(row[(i + 1)...].allSatisfy { $0 == 0 }, "row \(i): no weight on later bytes")
            #expect(abs(row.reduce(0, +) - 1) < 1e-5, "row \(i) sums to 1")
        }

        let html = run.deletingLastPathComponent().appendingPathComponent("v.html")
        let view = try AttendProcess.run(["view", "--model", run.path, "cat sat", "--out", html.path])
        #expect(view.status == 0, "view --model: \(view.stderr)")
        #expect(try String(contentsOf: html, encoding: .utf8).contains("\"words\":{\"labels\":[\"cat\",\"sat\"]"), "the page carries the word view")

        let long = try AttendProcess.run(["explain", "--model", run.path, "The cat sat on the mat"])
        #expect(long.status != 0 && long.stderr.contains("context is 16") && long.stderr.contains("would be cut"), "too long: \(long.stderr)")
        let cut = try AttendProcess.run(["explain", "--model", run.path, "The cat sat on the mat", "--truncate"])
        #expect(cut.status == 0 && cut.stdout.contains("cut to the model's context of 16 bytes"), "--truncate: \(cut.stderr)")
    }

    @Test func invalidModelFileIsAClearError() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("not a safetensors file".utf8).write(to: folder.appendingPathComponent("model.safetensors"))
        let r = try AttendProcess.run(["explain", "--model", folder.path, "hi"])
        #expect(r.exitedNormally && r.status != 0, "exit \(r.status)")
        #expect(r.stderr.contains("cannot use the model at \(folder.path)"), "names the folder: \(r.stderr)")
    }
}
