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
    @Option(help: "Windows per step (default: the preset's).")
    var batchSize: Int?
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
    @Flag(help: "One JSON object per line instead of text.")
    var json = false

    func validate() throws {
        if let out, out.isEmpty { throw ValidationError("--out must name a folder, got an empty string") }
        if resume && overwrite {
            throw ValidationError("--resume and --overwrite exclude each other: --resume continues the run in --out, --overwrite replaces it")
        }
        if resume {
            // The run's saved options fix its schedule and data order; silently ignoring a new
            // value would train something else than the user asked for.
            let ignored: [(String, Bool)] = [
                ("--batch-size", batchSize != nil), ("--learning-rate", learningRate != nil),
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
        AllocatorTuning.keepTrainingBuffersInHeap()  // measured −15% CPU per step; see its doc
        try train()
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

    private func train() throws {
        let configuration = try makeConfiguration()
        let corpusData = try ByteCorpus(contentsOf: corpus)
        try corpusData.checkFits(length: configuration.contextLength)
        let directory = URL(fileURLWithPath: out ?? "runs/\(preset)")
        let interrupt = InterruptFlag.install()
        let runDirectory = try TinyLLMRunDirectory.claim(directory)
        defer { runDirectory.release() }
        if !resume, !overwrite, let existing = runDirectory.existingRun {
            throw TinyLLMError.invalidArgument(
                "\(directory.path) already holds a training run (\(existing)); nothing was changed. Continue it with --resume, choose another --out, or pass --overwrite to replace it")
        }

        var trainer: TinyLLMTrainer
        if resume {
            trainer = try TinyLLMCheckpoint.loadTrainer(from: directory, corpus: corpusData, expectedConfiguration: configuration)
            if let steps, steps != trainer.options.steps {
                throw TinyLLMError.invalidArgument("--steps \(steps) differs from the checkpoint's schedule of \(trainer.options.steps) steps; resume without --steps (the schedule cannot change mid-run)")
            }
        } else {
            trainer = TinyLLMTrainer(configuration: configuration, options: try makeOptions())
        }
        var display = TrainingDisplay(
            json: json, terminal: !json && stderrIsTerminal, totalSteps: trainer.options.steps,
            tokensPerStep: trainer.tokensPerStep)
        display.start(trainer: trainer, corpus: corpusData, directory: directory, resumed: resume)
        let started = Date()
        try trainer.run(corpus: corpusData, directory: directory, shouldStop: { interrupt.isSet }) { event in
            display.show(event)
        }
        display.finish(trainer: trainer, corpus: corpusData, seconds: Date().timeIntervalSince(started),
                       interrupted: !trainer.isFinished)
        if !trainer.isFinished, let signal = interrupt.firstSignal {
            throw ExitCode(AttendExitCode.interrupted(by: signal))
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
