import Foundation
import Testing

/// End-to-end runs of `attend train`, `generate` and `eval` on a tiny model.
@Suite(.serialized) struct TinyLLMCommandTests {
    /// A corpus written by the test: a repeated verse (about 10 KB).
    static func makeCorpus(in directory: URL) throws -> URL {
        let verse = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
        let url = directory.appendingPathComponent("corpus.txt")
        try Data(String(repeating: verse, count: 120).utf8).write(to: url)
        return url
    }

    static func scratch(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attend-tinyllm-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `attend` with extra environment variables; returns (status, stdout, stderr).
    static func attend(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (Int32, String, String) {
        let result = try AttendProcess.run(arguments, environment: extra.mapValues { $0 as String? })
        return (result.status, result.stdout, result.stderr)
    }

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func trainArguments(corpus: URL, out: URL, steps: Int) -> [String] {
        ["train", "--corpus", corpus.path, "--preset", "tiny", "--steps", "\(steps)", "--out", out.path,
         "--batch-size", "4", "--eval-interval", "10", "--checkpoint-interval", "10", "--json"]
    }

    /// With the shard count fixed, a run is the same bytes whatever ATTEND_THREADS says: every
    /// kernel sums in an order that depends on shapes only, and the shards are summed in order.
    @Test func aFixedShardCountGivesTheSameRunForAnyThreadCount() throws {
        let directory = Self.scratch("shards")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.makeCorpus(in: directory)
        var checkpoints: [Data] = []
        for threads in ["1", "3"] {
            let run = directory.appendingPathComponent("run\(threads)")
            let (status, stdout, stderr) = try Self.attend(
                Self.trainArguments(corpus: corpus, out: run, steps: 8) + ["--shards", "2"], environment: ["ATTEND_THREADS": threads])
            #expect(status == 0, "ATTEND_THREADS=\(threads): exit \(status): \(stderr)")
            let start = try #require(Self.jsonLines(stdout).first)
            #expect(start["shards"] as? Int == 2 && start["threads"] as? Int == Int(threads), "start \(start)")
            checkpoints.append(try Data(contentsOf: run.appendingPathComponent("checkpoint.safetensors")))
        }
        #expect(checkpoints[0] == checkpoints[1], "1 and 3 threads with --shards 2 wrote different checkpoints")
    }

    @Test func trainThenGenerateThenEval() throws {
        let directory = Self.scratch("flow")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.makeCorpus(in: directory)
        let run = directory.appendingPathComponent("run")
        let (status, stdout, stderr) = try Self.attend(Self.trainArguments(corpus: corpus, out: run, steps: 30))
        #expect(status == 0, "attend train exited \(status): \(stderr)")
        let events = Self.jsonLines(stdout)
        let kinds = events.compactMap { $0["event"] as? String }
        #expect(kinds.first == "start" && kinds.last == "done", "events \(kinds)")
        // One shard of the batch of 4 per thread, never more shards than windows.
        let threads = try #require(events.first?["threads"] as? Int)
        #expect(events.first?["shards"] as? Int == min(4, threads), "start \(events.first ?? [:])")
        #expect(kinds.filter { $0 == "evaluation" }.count == 3 && kinds.contains("checkpoint"), "events \(kinds)")
        let done = try #require(events.last)
        let loss = try #require(done["validationLoss"] as? Double)
        #expect(loss < 5.0 && abs((done["validationBitsPerByte"] as? Double ?? 0) - loss / log(2)) < 1e-9, "done \(done)")

        // Greedy generation: the same bytes with and without the KV cache, prompt first.
        let arguments = ["generate", "--model", run.path, "--prompt", "Shall I", "--max-bytes", "40", "--temperature", "0"]
        let (generated, text, generateError) = try Self.attend(arguments)
        #expect(generated == 0, "generate exited \(generated): \(generateError)")
        #expect(text.hasPrefix("Shall I") && text.utf8.count >= "Shall I".utf8.count + 1, "output \(text.debugDescription)")
        let (_, uncached, _) = try Self.attend(arguments + ["--no-cache"])
        #expect(uncached == text, "--no-cache gave \(uncached.debugDescription), cache gave \(text.debugDescription)")

        let (evaluated, evalOut, evalError) = try Self.attend(["eval", "--model", run.path, "--corpus", corpus.path, "--json"])
        #expect(evaluated == 0, "eval exited \(evaluated): \(evalError)")
        let report = try #require(Self.jsonLines(evalOut).first, "eval --json printed \(evalOut)")
        #expect((report["loss"] as? Double ?? .nan) < 5.0 && report["bitsPerByte"] is Double && report["bytes"] as? Int == 9720)
    }

    /// Ctrl-C during training saves a checkpoint and exits 130; `--resume` finishes the run
    /// and the final checkpoint is byte-for-byte the one an uninterrupted run writes.
    @Test func interruptAndResumeMatchAnUninterruptedRun() throws {
        let directory = Self.scratch("interrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.makeCorpus(in: directory)
        let straight = directory.appendingPathComponent("straight"), stopped = directory.appendingPathComponent("stopped")
        let steps = 400
        let (status, _, stderr) = try Self.attend(Self.trainArguments(corpus: corpus, out: straight, steps: steps))
        #expect(status == 0, "\(stderr)")

        let (interrupted, seen) = try AttendProcess.signal(                            // SIGINT, as Ctrl-C
            Self.trainArguments(corpus: corpus, out: stopped, steps: steps), after: "\"event\":\"step\"", with: SIGINT)
        let kinds = Self.jsonLines(seen).compactMap { $0["event"] as? String }
        #expect(interrupted == 130, "interrupted train exited \(interrupted)")
        try #require(kinds.contains("interrupted"), "no interrupted event (did it finish before SIGINT?): \(kinds.suffix(3))")

        let (resumed, resumeOut, resumeError) = try Self.attend(
            ["train", "--corpus", corpus.path, "--preset", "tiny", "--out", stopped.path, "--resume", "--json"])
        #expect(resumed == 0, "resume exited \(resumed): \(resumeError)")
        #expect(Self.jsonLines(resumeOut).first?["resumed"] as? Bool == true)
        for name in ["checkpoint.safetensors", "model.safetensors"] {
            let a = try Data(contentsOf: straight.appendingPathComponent(name))
            let b = try Data(contentsOf: stopped.appendingPathComponent(name))
            #expect(a == b, "\(name): interrupted + resumed run differs from the uninterrupted run")
        }
    }

    @Test func errorsAreClearAndNonZero() throws {
        let directory = Self.scratch("errors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = try Self.makeCorpus(in: directory)
        let short = directory.appendingPathComponent("short.txt")
        try Data("too short".utf8).write(to: short)
        let cases: [(arguments: [String], environment: [String: String], expected: String)] = [
            (["train", "--corpus", corpus.path, "--preset", "huge"], [:], "unknown preset 'huge'; choose one of: tiny, baby, default"),
            (["train", "--corpus", short.path, "--preset", "tiny", "--out", directory.appendingPathComponent("x").path], [:], "too short"),
            (["train", "--corpus", directory.appendingPathComponent("missing.txt").path], [:], "cannot read"),
            (["train", "--corpus", corpus.path, "--preset", "tiny", "--out", directory.appendingPathComponent("none").path, "--resume"], [:],
             "no checkpoint to resume from"),
            (["generate", "--model", directory.path, "--prompt", "x"], [:], "attend train"),
            (["generate", "--prompt", "x"], ["ATTEND_TINYLLM_MODEL": directory.appendingPathComponent("gone.safetensors").path], "no such file"),
            (["generate", "--model", corpus.path, "--prompt", "x"], [:], "invalid checkpoint"),
            (["generate", "--model", directory.path, "--prompt", "x", "--top-p", "2"], [:], "top-p must be in (0, 1]"),
            (["eval", "--model", corpus.path, "--corpus", corpus.path], [:], "invalid checkpoint"),
        ]
        for (arguments, environment, expected) in cases {
            let (status, stdout, stderr) = try Self.attend(arguments, environment: environment)
            #expect(status != 0, "\(arguments) should fail; stdout \(stdout.prefix(200))")
            #expect(stderr.contains(expected), "\(arguments): stderr \(stderr.debugDescription) should contain \(expected)")
            #expect(!stderr.contains("Fatal error"), "\(arguments) crashed: \(stderr)")
        }
    }

    @Test(arguments: ["train", "generate", "eval"])
    func helpExplains(command: String) throws {
        let (status, stdout, _) = try Self.attend([command, "--help"])
        #expect(status == 0 && stdout.contains("OVERVIEW") && stdout.contains(command == "train" ? "--resume" : "--model"),
                "\(command) --help: \(stdout.prefix(300))")
    }
}
