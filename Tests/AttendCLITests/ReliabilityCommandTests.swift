import Attention
import Foundation
import Testing
import TinyLLM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Nothing a user made is lost, and every kind of bad input gets a clear message with the
/// documented exit status (0 success, 1 runtime failure, 64 usage, 130/143 interrupted).
@Suite(.serialized) struct ReliabilityCommandTests {
    static func attend(_ arguments: [String], environment: [String: String?] = [:], input: Data? = nil) throws -> AttendProcess.Result {
        try AttendProcess.run(arguments, environment: environment, input: input)
    }

    static func train(_ corpus: URL, _ out: URL, steps: Int, _ extra: [String] = []) -> [String] {
        ["train", "--corpus", corpus.path, "--preset", "tiny", "--steps", "\(steps)", "--out", out.path,
         "--batch-size", "4", "--eval-interval", "0", "--checkpoint-interval", "0", "--json"] + extra
    }

    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return files
    }

    /// A second `train` into a used folder refuses (exit 1, nothing changed), also with Ctrl-C
    /// semantics irrelevant; --overwrite replaces; --resume with options it cannot honour is a
    /// usage error.
    @Test func aFinishedRunIsNeverOverwrittenByAccident() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let run = folder.appendingPathComponent("run")
        let first = try Self.attend(Self.train(corpus, run, steps: 6))
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Self.snapshot(run)
        #expect(Set(before.keys) == ["checkpoint.safetensors", "model.safetensors"], "\(before.keys.sorted())")

        let again = try Self.attend(Self.train(corpus, run, steps: 6))
        #expect(again.status == 1)
        #expect(again.stderr.contains("already holds a training run") && again.stderr.contains("--resume")
                && again.stderr.contains("--overwrite") && again.stderr.contains("step 6 of 6"), "\(again.stderr)")
        #expect(try Self.snapshot(run) == before, "the refused run changed the folder")

        for option in [["--learning-rate", "0.01"], ["--batch-size", "8"], ["--seed", "3"], ["--warmup-steps", "2"], ["--shards", "1"]] {
            let resumed = try Self.attend(["train", "--corpus", corpus.path, "--preset", "tiny", "--out", run.path, "--resume"] + option)
            #expect(resumed.status == 64 && resumed.stderr.contains(option[0]) && resumed.stderr.contains("cannot change"),
                    "\(option): \(resumed.status) \(resumed.stderr)")
        }
        let both = try Self.attend(Self.train(corpus, run, steps: 6, ["--resume", "--overwrite"]))
        #expect(both.status == 64, "\(both.stderr)")
        #expect(try Self.snapshot(run) == before)

        let replaced = try Self.attend(Self.train(corpus, run, steps: 6, ["--overwrite", "--seed", "5"]))
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try Self.snapshot(run)["checkpoint.safetensors"] != before["checkpoint.safetensors"])

        let empty = try Self.attend(["train", "--corpus", corpus.path, "--preset", "tiny", "--out", ""])
        #expect(empty.status == 64 && empty.stderr.contains("--out"), "\(empty.stderr)")
    }

    /// An unwritable --out fails before the first step, not after the run.
    @Test func unwritableOutFailsBeforeTraining() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let blocker = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let result = try Self.attend(Self.train(corpus, blocker.appendingPathComponent("run"), steps: 100_000))
        #expect(result.status == 1 && result.stderr.contains("cannot write"), "\(result.stderr)")
        #expect(!result.stdout.contains("\"event\":\"step\""), "it trained before finding out: \(result.stdout.prefix(300))")
    }

    /// Starts a long run and sends `signal` once it has taken a step.
    static func interrupt(_ arguments: [String], with signal: Int32) throws -> (status: Int32, events: [String]) {
        let (status, stdout) = try AttendProcess.signal(arguments, after: "\"event\":\"step\"", with: signal)
        return (status, TinyLLMCommandTests.jsonLines(stdout).compactMap { $0["event"] as? String })
    }

    @Test(arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130))])
    func signalsSaveAndExitWithTheirStatus(signal: Int32, status: Int32) throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let run = folder.appendingPathComponent("run")
        let result = try Self.interrupt(Self.train(corpus, run, steps: 1_000_000), with: signal)
        #expect(result.status == status, "exit \(result.status)")
        #expect(result.events.contains("interrupted"), "\(result.events.suffix(3))")
        let trainer = try TinyLLMCheckpoint.loadTrainer(from: run, corpus: ByteCorpus(contentsOf: corpus.path))
        #expect(trainer.step >= 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).sorted()
        #expect(names == ["checkpoint.safetensors", "model.safetensors"], "stray files: \(names)")
    }

    /// kill -9 at seeded random moments of a run that writes a checkpoint every step: the
    /// previous checkpoint always stays loadable, and the next run removes any stray
    /// temporary file before it starts.
    @Test func killNineNeverLeavesABrokenCheckpoint() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let bytes = try ByteCorpus(contentsOf: corpus.path)
        let run = folder.appendingPathComponent("run")
        var arguments = Self.train(corpus, run, steps: 1_000_000)
        arguments[arguments.firstIndex(of: "--checkpoint-interval")! + 1] = "1"
        let resume = ["train", "--corpus", corpus.path, "--preset", "tiny", "--out", run.path, "--resume", "--json"]
        var generator = SeededGenerator(seed: 9)
        var strays = 0
        for round in 0..<6 {
            let process = Process()
            let binary = try #require(AttendProcess.binary())
            process.executableURL = binary
            process.arguments = round == 0 ? arguments : resume
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(400_000 + generator.next() % 600_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
            strays += names.filter { $0.hasPrefix(".") && $0.contains(".attend-tmp-") }.count
            guard names.contains("checkpoint.safetensors") else { continue }  // killed before the first save
            #expect(throws: Never.self, "round \(round): checkpoint unloadable after kill -9") {
                _ = try TinyLLMCheckpoint.loadTrainer(from: run, corpus: bytes)
            }
        }
        // A final short resume cleans whatever the kills left behind.
        let finish = try Self.interrupt(resume, with: SIGTERM)
        #expect(finish.status == 143)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).sorted()
        #expect(names == ["checkpoint.safetensors", "model.safetensors"], "after \(strays) stray temporary files: \(names)")
    }

    /// Every message class of the issue, with its exact exit status.
    @Test func everyFailureHasAClearMessageAndTheDocumentedStatus() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let fifo = folder.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // A model file with one extra tensor whose name carries an escape sequence and is 100 KB long.
        let hostile = folder.appendingPathComponent("hostile.safetensors")
        let name = "\u{1B}]0;owned\u{07}\u{1B}[2J" + String(repeating: "n", count: 100_000)
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)
        let configuration = String(decoding: try JSONEncoder().encode(TinyLLMConfiguration.tiny), as: UTF8.self)
        try SafeTensorsWriter.write(model.namedParameters + [(name, Tensor.zeros([2]))],
                                    metadata: ["format": TinyLLMCheckpoint.format, "configuration": configuration], to: hostile)
        let cases: [(arguments: [String], environment: [String: String?], status: Int32, expected: String)] = [
            (["generate", "--model", "/dev/null", "--prompt", "x"], [:], 1, "is a device"),
            (["generate", "--model", fifo, "--prompt", "x"], [:], 1, "is a pipe"),
            (["eval", "--model", folder.path, "--corpus", corpus.path], [:], 1, "neither model.safetensors"),
            (["train", "--corpus", folder.path, "--preset", "tiny", "--out", folder.appendingPathComponent("r").path], [:], 1, "is a folder, not a file"),
            (["eval", "--corpus", fifo], [:], 1, "is a pipe"),
            (["generate", "--model", hostile.path, "--prompt", "x"], [:], 1, "\\u{1B}]0;owned"),
            (["generate", "--prompt", "x", "--max-bytes", "3"], ["ATTEND_THREADS": "abc"], 64, "ATTEND_THREADS"),
            (["generate", "--prompt", "x", "--max-bytes", "3"], ["ATTEND_THREADS": "0"], 64, "ATTEND_THREADS"),
            (["generate", "--prompt", "x", "--max-bytes", "3"], ["ATTEND_NO_SIMD": "yes"], 64, "ATTEND_NO_SIMD"),
            (["generate", "--prompt", "x", "--max-bytes", "3"], ["ATTEND_SIMD": "avx1024"], 64, "ATTEND_SIMD"),
            (["generate", "--prompt", "x", "--top-p", "2"], [:], 64, "top-p"),
            (["eval", "--corpus", corpus.path, "--max-bytes", "1"], [:], 64, "--max-bytes"),
            (["train", "--corpus", corpus.path, "--preset", "tiny", "--batch-size", "1000000000"], [:], 64, "batch size must be in"),
            (["train", "--corpus", corpus.path, "--preset", "tiny", "--batch-size", "4", "--shards", "5"], [:], 64, "shards must be in 1...4"),
            (["train", "--corpus", corpus.path, "--preset", "tiny", "--shards", "0"], [:], 64, "shards must be in"),
            (["train", "--corpus", corpus.path, "--preset", "huge"], [:], 64, "unknown preset 'huge'"),
            (["train", "--corpus", corpus.path, "--preset", "tiny", "--layers", "100000"], [:], 64, "layers must be in"),
        ]
        for (arguments, environment, status, expected) in cases {
            let result = try Self.attend(arguments, environment: environment)
            #expect(result.status == status, "\(arguments) \(environment): exit \(result.status), stderr \(result.stderr.prefix(300))")
            #expect(result.stderr.contains(expected), "\(arguments): stderr \(result.stderr.prefix(400).debugDescription) should contain \(expected)")
            #expect(!result.stderr.contains("\u{1B}"), "\(arguments): raw escape sequence on the terminal")
            #expect(result.stderr.utf8.count < 4000, "\(arguments): \(result.stderr.utf8.count) bytes of error")
            #expect(!result.stderr.contains("Usage: attend <subcommand>"), "\(arguments): top-level usage appended")
        }
    }

    /// `--max-bytes` far beyond memory streams (nothing reserved up front) until stopped.
    @Test func hugeMaxBytesStreams() throws {
        let process = Process()
        let binary = try #require(AttendProcess.binary())
        process.executableURL = binary
        process.arguments = ["generate", "--prompt", "ROMEO:", "--max-bytes", "30000000000"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        var seen = Data()
        while seen.count < 200 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        #expect(process.isRunning, "generate stopped early (status \(process.terminationStatus))")
        // SIGKILL: a child spawned from a test thread may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(seen.count >= 200 && process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
    }

    /// `--input -` reads standard input; a text longer than the model reads is announced.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"] != nil,
                   "needs the MiniLM test model (scripts/ci/pretrained-model.sh)"))
    func dashIsStandardInputAndTruncationIsAnnounced() throws {
        let model = try #require(ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"])
        let piped = try Self.attend(["embed", "--model", model, "--input", "-", "--json"], input: Data(#"["Hello world"]"#.utf8))
        #expect(piped.status == 0 && piped.stdout.contains("[101,7592,2088,102]"), "\(piped.stderr)")
        let long = String(repeating: "word ", count: 400)
        let cut = try Self.attend(["embed", "--model", model, long])
        #expect(cut.status == 0 && cut.stderr.contains("the model reads the first 256"), "\(cut.stderr)")
    }
}

/// `--model ORG/NAME` on the command line: downloaded from `HF_ENDPOINT` into `HF_HUB_CACHE`
/// with a progress line, then used from the cache (also offline).
@Suite struct HubModelCommandTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"] != nil
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
                   "needs the MiniLM test model and python3 for the local hub"))
    func repositoryIDsDownloadOnceThenWorkOffline() throws {
        let model = try #require(ProcessInfo.processInfo.environment["ATTEND_TEST_MODEL_DIR"])
        let base = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: base) }
        let org = base.appendingPathComponent("root/sentence-transformers")
        try FileManager.default.createDirectory(at: org, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: org.appendingPathComponent("all-MiniLM-L6-v2").path, withDestinationPath: model)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../PretrainedTests/Fixtures/hub_server.py").standardizedFileURL
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [script.path, "--root", base.appendingPathComponent("root").path, "--lifetime", "60"]
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        var line = Data()
        while !line.contains(10) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        let cache = base.appendingPathComponent("cache").path
        let online = try AttendProcess.run(["embed", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--json", "Hello world"],
                                           environment: ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache])
        #expect(online.status == 0 && online.stdout.contains("[101,7592,2088,102]"), "\(online.stderr)")
        #expect(online.stderr.contains("downloading model.safetensors"), "\(online.stderr)")
        let offline = try AttendProcess.run(["embed", "--model", "sentence-transformers/all-MiniLM-L6-v2", "--json", "Hello world"],
                                            environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache])
        #expect(offline.status == 0 && offline.stdout == online.stdout && !offline.stderr.contains("downloading"), "\(offline.stderr)")
        let absent = try AttendProcess.run(["embed", "--model", "sentence-transformers/absent", "x"],
                                           environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache])
        #expect(absent.status == 1 && absent.stderr.contains("HF_HUB_OFFLINE"), "\(absent.stderr)")
    }
}
