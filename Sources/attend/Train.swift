import ArgumentParser
import Training
import Attention
import Foundation
import TinyLLM

/// `attend train`: train a byte-level GPT on any file.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a byte-level GPT (TinyLLM) on any file.",
        discussion: """
            Every byte is a token. The first 90% of the file trains, the last 10% validates.
            Each step draws --batch-size random windows (seeded), takes one AdamW step with
            warmup + cosine decay and gradient clipping. Validation loss is reported in
            nats/byte and bits/byte. DIR receives checkpoint.safetensors (everything --resume
            needs) and model.safetensors (Float16 weights for generate/eval) every
            --checkpoint-interval steps and at the end, each written atomically (a kill at any
            moment leaves the previous file intact). Ctrl-C (SIGINT) or SIGTERM (kill, timeout,
            job schedulers) saves a checkpoint and exits with status 130 or 143; a second signal
            quits at once. `--resume` continues exactly as if the run had not stopped.

            Data parallelism: `mpirun -np N attend train ...` (or srun) trains one model with N
            processes. Every step's --batch-size windows are drawn as one process would draw them
            and split across the ranks; gradients are averaged with MPI all-reduce, so the run
            follows the one-process trajectory and --resume works with any N. Rank 0 prints and
            writes checkpoints. Open MPI's libmpi.so.40 is loaded at run time (Debian/Ubuntu:
            apt-get install openmpi-bin libopenmpi-dev); ATTEND_MPI_TIMEOUT (seconds, default
            300) bounds how long a rank waits for the others. Gradients are summed in buckets of
            ATTEND_MPI_BUCKET_MB (default 1) while the backward pass runs; 0 sums them in one
            all-reduce after it.

            Threads (ATTEND_THREADS, default every core): each step's batch is split into
            --shards parts, one per thread, each part's forward and backward pass running on
            its own thread with no hand-off between them; the gradient is the whole batch's,
            summed in shard order. --shards 1 instead splits every operation across the
            threads. The shard count is saved with the run, so --resume splits as before.

            A folder that already holds a run is never overwritten by accident: continue it with
            --resume, or replace it with --overwrite. The folder is checked to be writable and
            locked before the first step.

            Presets: \(TinyLLMConfiguration.presets.map { "\($0.name) (\($0.configuration.summary))" }.joined(separator: "; ")).

            Example:
              attend train --corpus ../shared/data/tinyshakespeare.txt --preset baby --out runs/baby
              attend generate --model runs/baby --prompt "ROMEO:"
            """)

    @Option(help: "The training text (any file; read as bytes).")
    var corpus: String
    @Option(help: "Model preset: \(TinyLLMConfiguration.presets.map(\.name).joined(separator: ", ")).")
    var preset = "default"
    @Option(help: "Total optimizer steps (default: the preset's recommended schedule).")
    var steps: Int?
    @Option(help: "Run directory for checkpoints (default: runs/<preset>).")
    var out: String?
    @Flag(help: "Continue the run saved in --out (same corpus and preset; its saved options are used).")
    var resume = false
    @Flag(help: "Start a fresh run even though --out holds one (its files are replaced at the first checkpoint).")
    var overwrite = false
    @Option(help: "Windows per step (default: the preset's); under mpirun the global batch, split across the ranks.")
    var batchSize: Int?
    @Option(help: "Split each step's batch into N shards trained at once, one per thread (default: one per thread, at most the batch size; 1: split every operation across the threads instead). Under mpirun each rank trains its rows as one shard.")
    var shards: Int?
    @Option(help: "Peak learning rate (default: the preset's).")
    var learningRate: Float?
    @Option(help: "Warmup steps (default: the preset's).")
    var warmupSteps: Int?
    @Option(help: "Validation every N steps (0: only at the end).")
    var evalInterval: Int?
    @Option(help: "Checkpoint every N steps (0: only at the end).")
    var checkpointInterval: Int?
    @Option(help: "Seed for initial weights, data order and dropout.")
    var seed: UInt64?
    @Option(help: "Override the preset's positions: learned or rotary.")
    var positions: String?
    @Option(help: "Override the preset's number of layers.")
    var layers: Int?
    @Option(help: "Override the preset's width (model size); the MLP is 4× wider.")
    var width: Int?
    @Option(help: "Override the preset's attention heads.")
    var heads: Int?
    @Option(help: "Override the preset's key/value heads (fewer than --heads: grouped-query attention).")
    var keyValueHeads: Int?
    @Option(help: "Override the preset's context length.")
    var context: Int?
    @Option(help: "Print a step line every N steps (default: every 10 with --json, about 50 lines otherwise).")
    var logInterval: Int?
    @Flag(help: "One JSON object per line instead of text.")
    var json = false

    func validate() throws {
        if let out, out.isEmpty { throw ValidationError("--out must name a folder, got an empty string") }
        if let logInterval, logInterval < 1 { throw ValidationError("--log-interval must be ≥ 1, got \(logInterval)") }
        if resume && overwrite {
            throw ValidationError("--resume and --overwrite exclude each other: --resume continues the run in --out, --overwrite replaces it")
        }
        if resume {
            // The run's saved options fix its schedule and data order; silently ignoring a new
            // value would train something else than the user asked for.
            let ignored: [(String, Bool)] = [
                ("--batch-size", batchSize != nil), ("--shards", shards != nil), ("--learning-rate", learningRate != nil),
                ("--warmup-steps", warmupSteps != nil), ("--seed", seed != nil),
                ("--eval-interval", evalInterval != nil), ("--checkpoint-interval", checkpointInterval != nil),
            ]
            let given = ignored.filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("--resume continues with the options saved in the checkpoint; \(given.joined(separator: ", ")) cannot change mid-run (start a new run in another --out to change them)")
            }
        }
        _ = try makeConfiguration()
        if !resume { _ = try makeOptions() }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard MPICommunicator.launcherVariable(in: environment) != nil else {
            try train(group: nil, interrupt: nil)   // not under mpirun/srun: one process, as always
            return
        }
        let rank = Int(environment["OMPI_COMM_WORLD_RANK"] ?? environment["PMI_RANK"] ?? environment["PMIX_RANK"] ?? "")
        let size = Int(environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"] ?? "")
        let interrupt = InterruptFlag.install(rank: rank.flatMap { r in size.map { (r, $0) } })
        let group = try MPICommunicator(timeout: EnvironmentCheck.mpiTimeout(environment) ?? 300, environment: environment,
                                        interrupted: { interrupt.isSet })
        guard group.size > 1 else {
            defer { group.finalize() }
            try train(group: nil, interrupt: interrupt)
            return
        }
        do {
            try train(group: group, interrupt: interrupt)
            group.finalize()
        } catch let error as ExitCode {
            group.finalize()      // every rank stopped after the same step (the stop travelled with it)
            throw error
        } catch let failure as AgreedFailure {
            group.finalize()      // every rank knows; rank 0 (or the rank that failed) says why
            guard failure.speak else { throw ExitCode(AttendExitCode.failure) }
            throw failure.error
        } catch {
            // Only this rank knows: the others may be waiting in a collective. MPI_Abort ends
            // them all now instead of letting them time out.
            printError("Error (rank \(group.rank) of \(group.size)): \(safeMessage(String(describing: error)))")
            FileAccess.removeTemporaryFiles()
            group.abort(code: AttendExitCode.failure)
        }
    }

    /// An error that every rank learned about at the same point (so MPI can finalize cleanly).
    struct AgreedFailure: Error {
        var error: Error
        /// Whether this rank prints it (rank 0, or the rank that failed).
        var speak: Bool
    }

    private func train(group: MPICommunicator?, interrupt: InterruptFlag?) throws {
        let rank = group?.rank ?? 0, ranks = group?.size ?? 1
        var setup: (trainer: TinyLLMTrainer, corpus: ByteCorpus, directory: URL, runDirectory: TinyLLMRunDirectory?, interrupt: InterruptFlag)?
        var setupError: Error?
        do { setup = try prepare(rank: rank, ranks: ranks, interrupt: interrupt) } catch { setupError = error }
        if let group {
            // Every rank learns whether every rank could start, so none waits for one that left.
            let failed = try group.allGather(setupError == nil ? 0 : 1)
            let failedRanks = failed.indices.filter { failed[$0] != 0 }
            if let setupError {
                throw AgreedFailure(error: setupError, speak: rank == failedRanks.first)
            }
            if !failedRanks.isEmpty {
                throw AgreedFailure(error: CommunicationError.peerFailed(ranks: failedRanks, during: "to start"), speak: false)
            }
        } else if let setupError {
            throw setupError
        }
        guard let setup else { return }
        var trainer = setup.trainer
        let (corpusData, directory, runDirectory, interrupt) = (setup.corpus, setup.directory, setup.runDirectory, setup.interrupt)
        defer { runDirectory?.release() }
        var display = TrainingDisplay(
            json: json, terminal: !json && stderrIsTerminal, totalSteps: trainer.options.steps,
            tokensPerStep: trainer.tokensPerStep, ranks: ranks)
        display.logInterval = logInterval
        if rank == 0 {
            display.start(trainer: trainer, corpus: corpusData, directory: directory, resumed: resume,
                          parallel: group.map { ($0.libraryVersion, $0.size) })
        }
        let started = Date()
        let bucketBytes = EnvironmentCheck.mpiBucketBytes() ?? GradientBucketPlan.defaultBucketBytes   // checked at startup
        try trainer.run(corpus: corpusData, directory: directory, group: group, bucketBytes: bucketBytes,
                        shouldStop: { interrupt.isSet }) { event in
            display.show(event)
        }
        if rank == 0 {
            display.finish(trainer: trainer, corpus: corpusData, seconds: Date().timeIntervalSince(started),
                           interrupted: !trainer.isFinished)
        }
        if !trainer.isFinished {
            // A stop on any rank stops every rank after the same step.
            throw ExitCode(AttendExitCode.interrupted(by: interrupt.firstSignal ?? SIGTERM))
        }
    }

    /// The model the flags describe; a bad value is a usage error (exit status 64).
    private func makeConfiguration() throws -> TinyLLMConfiguration {
        try asUsageError {
            var configuration = try TinyLLMConfiguration.preset(named: preset)
            if let positions {
                guard let value = TinyLLMConfiguration.Positions(rawValue: positions) else {
                    throw TinyLLMError.invalidArgument("--positions must be learned or rotary, got '\(positions)'")
                }
                configuration.positions = value
            }
            if let layers { configuration.layers = layers }
            if let width { configuration.width = width; configuration.hiddenSize = 4 * width }
            if let heads { configuration.heads = heads; configuration.keyValueHeads = heads }
            if let keyValueHeads { configuration.keyValueHeads = keyValueHeads }
            if let context { configuration.contextLength = context }
            try configuration.validate()
            return configuration
        }
    }

    /// The options of a fresh run; a bad value is a usage error (exit status 64).
    private func makeOptions() throws -> TrainingOptions {
        try asUsageError {
            var options = TrainingOptions.recommended(forPreset: preset)
            if let steps { options.steps = steps }
            if let batchSize { options.batchSize = batchSize }
            if let shards { options.shards = shards }
            if let learningRate { options.learningRate = learningRate; options.minimumLearningRate = learningRate / 10 }
            if let warmupSteps { options.warmupSteps = warmupSteps }
            if let evalInterval { options.evaluationInterval = evalInterval }
            if let checkpointInterval { options.checkpointInterval = checkpointInterval }
            if let seed { options.seed = seed }
            try options.validate()
            return options
        }
    }

    private func asUsageError<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TinyLLMError { throw ValidationError(error.description) }
    }

    /// Everything before the first step: configuration, corpus, run folder (rank 0 alone
    /// claims it and checks it), trainer (fresh, or restored from the folder's checkpoint by
    /// every rank: the folder must be on a file system every rank sees, like the corpus).
    private func prepare(rank: Int, ranks: Int, interrupt: InterruptFlag?) throws
        -> (trainer: TinyLLMTrainer, corpus: ByteCorpus, directory: URL, runDirectory: TinyLLMRunDirectory?, interrupt: InterruptFlag) {
        let configuration = try makeConfiguration()
        let corpusData = try ByteCorpus(contentsOf: corpus)
        try corpusData.checkFits(length: configuration.contextLength)
        let directory = URL(fileURLWithPath: out ?? "runs/\(preset)")
        let interrupt = interrupt ?? InterruptFlag.install()
        var runDirectory: TinyLLMRunDirectory?
        if rank == 0 {
            let claimed = try TinyLLMRunDirectory.claim(directory)
            runDirectory = claimed
            if !resume, !overwrite, let existing = claimed.existingRun {
                claimed.release()
                throw TinyLLMError.invalidArgument(
                    "\(directory.path) already holds a training run (\(existing)); nothing was changed. Continue it with --resume, choose another --out, or pass --overwrite to replace it")
            }
        }
        do {
            var trainer: TinyLLMTrainer
            if resume {
                trainer = try TinyLLMCheckpoint.loadTrainer(from: directory, corpus: corpusData, expectedConfiguration: configuration)
                if let steps, steps != trainer.options.steps {
                    throw TinyLLMError.invalidArgument("--steps \(steps) differs from the checkpoint's schedule of \(trainer.options.steps) steps; resume without --steps (the schedule cannot change mid-run)")
                }
            } else {
                trainer = TinyLLMTrainer(configuration: configuration, options: try makeOptions())
            }
            if trainer.options.batchSize < ranks {
                throw TinyLLMError.invalidArgument(
                    "--batch-size \(trainer.options.batchSize) is smaller than the \(ranks) ranks: the batch size is the global batch, split across ranks (each needs at least one window); use --batch-size ≥ \(ranks) or fewer ranks")
            }
            return (trainer, corpusData, directory, runDirectory, interrupt)
        } catch {
            runDirectory?.release()
            throw error
        }
    }
}

extension TrainingOptions {
    /// The schedule each preset is tuned for (see docs/notes/tinyllm.md).
    static func recommended(forPreset name: String) -> TrainingOptions {
        var options = TrainingOptions()
        switch name {
        case "tiny":
            options.steps = 200; options.evaluationInterval = 50; options.checkpointInterval = 100
        case "default":
            options.steps = 4000; options.evaluationInterval = 250; options.checkpointInterval = 250
        default:
            break
        }
        return options
    }
}
