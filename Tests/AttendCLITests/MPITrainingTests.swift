import Attention
import Foundation
import Testing
import TinyLLM

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mpirun -np N attend train`: run only when `ATTEND_MPI_TESTS=1` (the CI's MPI step,
/// after scripts/ci/mpi.sh installed Open MPI); the default `swift test` needs no MPI.
enum MPIRun {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var shouldRun: Bool { environment["ATTEND_MPI_TESTS"] == "1" }

    /// `ATTEND_MPIRUN`, else `mpirun` on the PATH.
    static func mpirun() throws -> String {
        if let explicit = environment["ATTEND_MPIRUN"], !explicit.isEmpty { return explicit }
        for directory in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw MPITestError("ATTEND_MPI_TESTS=1 but no mpirun found: source scripts/ci/mpi.sh or set ATTEND_MPIRUN")
    }

    static func launcher(ranks: Int) throws -> [String] {
        [try mpirun(), "--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"]
    }
}

struct MPITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The step losses of a `--json --log-interval 1` log, by step.
func stepLosses(_ jsonLines: String) -> [Int: Double] {
    var out: [Int: Double] = [:]
    for line in jsonLines.split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              object["event"] as? String == "step", let step = object["step"] as? Int, let loss = object["loss"] as? Double else { continue }
        out[step] = loss
    }
    return out
}

/// `‖a − b‖ / ‖a‖` over every parameter of two models.
func relativeWeightDifference(_ a: TinyLLMModel, _ b: TinyLLMModel) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a.namedParameters, b.namedParameters) {
        for (p, q) in zip(x.tensor.scalars, y.tensor.scalars) {
            difference += Double(p - q) * Double(p - q); norm += Double(p) * Double(p)
        }
    }
    return (difference / norm).squareRoot()
}

@Suite(.serialized) struct MPITrainingTests {
    static let common = ["--preset", "tiny", "--steps", "50", "--eval-interval", "0", "--checkpoint-interval", "0",
                         "--json", "--log-interval", "1"]

    // MARK: Without MPI (run everywhere)

    @Test func underALauncherWithoutLibmpiTheErrorSaysHowToInstallOpenMPI() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let out = folder.appendingPathComponent("run")
        let result = try AttendProcess.run(
            ["train", "--corpus", corpus.path, "--preset", "tiny", "--steps", "2", "--out", out.path],
            environment: ["OMPI_COMM_WORLD_SIZE": "2", "ATTEND_LIBMPI": folder.appendingPathComponent("libmpi.so.40").path])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("started by an MPI launcher but no MPI library could be loaded"))
        #expect(result.stderr.contains("apt-get install openmpi-bin libopenmpi-dev"))
        #expect(!FileManager.default.fileExists(atPath: out.path))   // nothing was written
    }

    #if os(Linux)
    @Test func aLibraryThatIsNotOpenMPIIsRefusedByName() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let result = try AttendProcess.run(
            ["train", "--corpus", corpus.path, "--preset", "tiny", "--steps", "2", "--out", folder.appendingPathComponent("run").path],
            environment: ["PMI_SIZE": "2", "ATTEND_LIBMPI": "libc.so.6"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is not Open MPI"))
        #expect(result.stderr.contains("MPICH"))
    }
    #endif

    @Test func aBadTimeoutIsAUsageError() throws {
        let result = try AttendProcess.run(["train", "--corpus", "/nonexistent"], environment: ["ATTEND_MPI_TIMEOUT": "soon"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("ATTEND_MPI_TIMEOUT must be a number of seconds"))
    }

    @Test func aBadBucketSizeIsAUsageError() throws {
        for value in ["big", "-1", "5000"] {
            let result = try AttendProcess.run(["train", "--corpus", "/nonexistent"], environment: ["ATTEND_MPI_BUCKET_MB": value])
            #expect(result.status == 64, "\(value)")
            #expect(result.stderr.contains("ATTEND_MPI_BUCKET_MB must be a number of megabytes"), "\(value)")
        }
    }

    // MARK: Under mpirun (ATTEND_MPI_TESTS=1)

    /// N ranks sharing a global batch follow the one-process run: losses at every one of 50
    /// steps and the final weights equal to 1e-5 relative; only rank 0 prints and writes.
    /// (The tiny model's gradients fit one default bucket; 0.01 MB buckets make many
    /// `MPI_Iallreduce`s per step, in flight during the backward pass.)
    @Test(.enabled(if: MPIRun.shouldRun, "set ATTEND_MPI_TESTS=1 (the CI's MPI step) to run mpirun"),
          arguments: [(ranks: 2, batch: 6, bucketMB: nil), (ranks: 3, batch: 7, bucketMB: nil), (ranks: 3, batch: 7, bucketMB: "0.01")])
    func ranksFollowTheOneProcessTrajectory(ranks: Int, batch: Int, bucketMB: String?) throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let one = folder.appendingPathComponent("one"), many = folder.appendingPathComponent("many")
        let arguments = ["train", "--corpus", corpus.path, "--batch-size", "\(batch)"] + Self.common
        let single = try AttendProcess.run(arguments + ["--out", one.path])
        #expect(single.status == 0, "\(single.stderr)")
        let parallel = try AttendProcess.run(arguments + ["--out", many.path], environment: ["ATTEND_MPI_BUCKET_MB": bucketMB],
                                             launcher: try MPIRun.launcher(ranks: ranks))
        #expect(parallel.status == 0, "\(parallel.stderr)")

        let a = stepLosses(single.stdout), b = stepLosses(parallel.stdout)
        #expect(a.count == 50 && b.count == 50)
        for step in 1...50 {
            let x = try #require(a[step]), y = try #require(b[step])
            #expect(abs(x - y) <= 1e-5 * abs(x), "step \(step): loss \(x) with one process, \(y) with \(ranks) ranks")
        }
        // Rank 0 alone prints: one start line, naming the ranks and their rows.
        let starts = parallel.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"start\"") }
        #expect(starts.count == 1)
        #expect(starts.first?.contains("\"ranks\":\(ranks)") == true)
        #expect(parallel.stdout.contains("\"communicationSeconds\"") && parallel.stdout.contains("\"communicationTotalSeconds\""))
        #expect(!single.stdout.contains("communicationSeconds"))

        let x = try TinyLLMCheckpoint.loadModel(from: one.appendingPathComponent("checkpoint.safetensors").path)
        let y = try TinyLLMCheckpoint.loadModel(from: many.appendingPathComponent("checkpoint.safetensors").path)
        let difference = relativeWeightDifference(x, y)
        #expect(difference <= 1e-5, "relative weight difference \(difference)")
    }

    /// A run checkpointed at step 25 (by one process) continues with 3 ranks to the weights of
    /// an uninterrupted one-process run.
    @Test(.enabled(if: MPIRun.shouldRun, "set ATTEND_MPI_TESTS=1 (the CI's MPI step) to run mpirun"))
    func resumeWorksWithAnotherNumberOfRanks() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpusURL = try TinyLLMCommandTests.makeCorpus(in: folder)
        let straight = folder.appendingPathComponent("straight"), resumed = folder.appendingPathComponent("resumed")
        let arguments = ["train", "--corpus", corpusURL.path, "--batch-size", "6"] + Self.common
        let single = try AttendProcess.run(arguments + ["--out", straight.path])
        #expect(single.status == 0, "\(single.stderr)")

        // The same run stopped after 25 steps: the options `attend train` uses for these flags.
        var options = TrainingOptions()
        options.steps = 50; options.batchSize = 6; options.evaluationInterval = 0; options.checkpointInterval = 0
        let corpus = try ByteCorpus(contentsOf: corpusURL.path)
        var trainer = TinyLLMTrainer(configuration: .tiny, options: options)
        for _ in 0..<25 { try trainer.trainStep(corpus: corpus) }
        try TinyLLMCheckpoint.save(trainer, corpus: corpus, to: resumed)

        let parallel = try AttendProcess.run(
            ["train", "--corpus", corpusURL.path, "--preset", "tiny", "--resume", "--out", resumed.path, "--json", "--log-interval", "1"],
            launcher: try MPIRun.launcher(ranks: 3))
        #expect(parallel.status == 0, "\(parallel.stderr)")
        let a = stepLosses(single.stdout), b = stepLosses(parallel.stdout)
        #expect(b.keys.sorted() == Array(26...50))
        for step in 26...50 {
            let x = try #require(a[step]), y = try #require(b[step])
            #expect(abs(x - y) <= 1e-5 * abs(x), "step \(step): loss \(x) straight, \(y) resumed on 3 ranks")
        }
        let x = try TinyLLMCheckpoint.loadModel(from: straight.appendingPathComponent("checkpoint.safetensors").path)
        let y = try TinyLLMCheckpoint.loadModel(from: resumed.appendingPathComponent("checkpoint.safetensors").path)
        #expect(relativeWeightDifference(x, y) <= 1e-5)
    }

    /// A global batch smaller than the number of ranks is refused by every rank, cleanly.
    @Test(.enabled(if: MPIRun.shouldRun, "set ATTEND_MPI_TESTS=1 (the CI's MPI step) to run mpirun"))
    func aBatchSmallerThanTheRanksIsAClearError() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = try TinyLLMCommandTests.makeCorpus(in: folder)
        let result = try AttendProcess.run(
            ["train", "--corpus", corpus.path, "--batch-size", "2", "--out", folder.appendingPathComponent("run").path] + Self.common,
            launcher: try MPIRun.launcher(ranks: 3))
        #expect(result.status != 0)
        #expect(result.stderr.contains("--batch-size 2 is smaller than the 3 ranks"))
        #expect(!result.stdout.contains("\"event\":\"step\""))
    }

    #if os(Linux)
    /// A rank killed mid-run takes the job down (no hang) and the last checkpoint loads.
    @Test(.enabled(if: MPIRun.shouldRun, "set ATTEND_MPI_TESTS=1 (the CI's MPI step) to run mpirun"))
    func aDeadRankEndsTheJobAndTheCheckpointStaysLoadable() throws {
        let folder = try AttendProcess.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpusURL = try TinyLLMCommandTests.makeCorpus(in: folder)
        let out = folder.appendingPathComponent("run")
        let binary = try #require(AttendProcess.binary())
        let process = Process()
        let launcher = try MPIRun.launcher(ranks: 2)
        process.executableURL = URL(fileURLWithPath: launcher[0])
        process.arguments = Array(launcher.dropFirst()) + [binary.path, "train", "--corpus", corpusURL.path, "--preset", "tiny",
            "--steps", "1000000", "--batch-size", "4", "--checkpoint-interval", "5", "--eval-interval", "0", "--out", out.path]
        var environment = ProcessInfo.processInfo.environment
        environment["ATTEND_MPI_TIMEOUT"] = "20"
        process.environment = environment
        let log = folder.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")
        var waited = 0.0
        while !FileManager.default.fileExists(atPath: checkpoint.path), waited < 120 { usleep(100_000); waited += 0.1 }
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
        // The ranks are mpirun's children; kill the last one as a crash would.
        let children = descendants(of: process.processIdentifier)
        let victim = try #require(children.last, "no child processes of mpirun")
        kill(victim, SIGKILL)
        waited = 0
        while process.isRunning, waited < 90 { usleep(100_000); waited += 0.1 }
        #expect(!process.isRunning, "the job still runs 90 s after a rank died")
        if !process.isRunning { #expect(process.terminationStatus != 0) }
        let corpus = try ByteCorpus(contentsOf: corpusURL.path)
        let restored = try TinyLLMCheckpoint.loadTrainer(from: out, corpus: corpus)
        #expect(restored.step >= 5 && restored.step % 5 == 0)
    }

    /// Processes whose parent is `pid` (Linux `/proc`), then theirs.
    func descendants(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            for child in text.split(separator: " ").compactMap({ Int32($0) }) {
                let name = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) ?? ""
                if name.hasPrefix("attend") { result.append(child) }
                result += descendants(of: child)
            }
        }
        return result
    }
    #endif
}
