import Foundation
import Attention
import TinyLLM
import Training

/// How `attend train` shows progress: a redrawn bar on a terminal (stderr), plain log lines
/// otherwise, or JSON lines with `--json`.
struct TrainingDisplay {
    let json: Bool
    let terminal: Bool
    let totalSteps: Int
    let tokensPerStep: Int
    /// Data-parallel ranks (1: one process; then nothing about communication is shown).
    let ranks: Int
    /// Log a step line every this many steps (nil: every 10 with --json, about 50 lines otherwise).
    var logInterval: Int?
    private var lastValidation: Double?
    private var lastLine = 0
    private var lastPrinted = Date.distantPast

    init(json: Bool, terminal: Bool, totalSteps: Int, tokensPerStep: Int, ranks: Int = 1) {
        self.json = json; self.terminal = terminal; self.totalSteps = totalSteps; self.tokensPerStep = tokensPerStep
        self.ranks = ranks
    }

    /// - Parameter parallel: the MPI library's version and the number of ranks, when more than one.
    func start(trainer: TinyLLMTrainer, corpus: ByteCorpus, directory: URL, resumed: Bool, parallel: (library: String, ranks: Int)? = nil) {
        let c = trainer.configuration, o = trainer.options
        let split = parallel.map { p in
            (0..<p.ranks).map { DataParallel.rows(rank: $0, size: p.ranks, batchSize: o.batchSize).count }
        }
        if json {
            var fields: [String: Any] = [
                "event": "start", "corpus": corpus.name, "corpusBytes": corpus.count,
                "trainingBytes": corpus.training.count, "validationBytes": corpus.validation.count,
                "parameters": c.parameterCount, "layers": c.layers, "heads": c.heads, "keyValueHeads": c.keyValueHeads,
                "width": c.width, "contextLength": c.contextLength, "positions": c.positions.rawValue,
                "batchSize": o.batchSize, "steps": o.steps, "startStep": trainer.step, "learningRate": Double(o.learningRate),
                "seed": o.seed, "directory": directory.path, "resumed": resumed,
            ]
            if let parallel, let split {
                fields["ranks"] = parallel.ranks; fields["rowsPerRank"] = split; fields["mpiLibrary"] = parallel.library
            } else {
                fields["threads"] = Threading.threadCount; fields["shards"] = trainer.shardCount
            }
            printJSONLine(fields)
            return
        }
        print("""
            model: \(c.summary), \(c.parameterCount) parameters
            corpus: \(corpus.name), \(corpus.count) bytes (\(corpus.training.count) train, \(corpus.validation.count) validation)
            schedule: \(o.steps) steps of \(o.batchSize)×\(c.contextLength) bytes, lr \(o.learningRate) → \(o.minimumLearningRate) (warmup \(o.warmupSteps), cosine), clip \(o.gradientClip), seed \(o.seed)
            \(parallel.map { "data parallel: \($0.ranks) ranks, rows per rank \((split ?? []).map(String.init).joined(separator: "+")) (\($0.library))\n" } ?? threadLine(trainer))\(resumed ? "resuming at step \(trainer.step) from" : "checkpoints:") \(directory.path)
            """)
        fflush(nil)
    }

    /// One process: its threads and how a step's batch is split between them.
    private func threadLine(_ trainer: TinyLLMTrainer) -> String {
        let shards = trainer.shardCount, batch = trainer.options.batchSize
        let split = (0..<shards).map { String(DataParallel.rows(rank: $0, size: shards, batchSize: batch).count) }
        return shards > 1
            ? "threads: \(Threading.threadCount), batch split into \(shards) shards of \(split.joined(separator: "+")) windows\n"
            : "threads: \(Threading.threadCount), each operation split across them\n"
    }

    mutating func show(_ event: TrainingEvent) {
        switch event {
        case let .step(step, result, tokensPerSecond, secondsPerStep):
            let eta = Double(totalSteps - step) * secondsPerStep
            if json {
                guard step % (logInterval ?? 10) == 0 || step == totalSteps else { return }
                var fields: [String: Any] = [
                    "event": "step", "step": step, "loss": Double(result.loss), "learningRate": Double(result.learningRate),
                    "gradientNorm": Double(result.gradientNorm), "tokensPerSecond": tokensPerSecond.rounded(), "etaSeconds": eta.rounded()]
                if ranks > 1 {
                    fields["communicationSeconds"] = result.communicationSeconds
                    fields["communicationTotalSeconds"] = result.communicationTotalSeconds
                }
                printJSONLine(fields)
            } else if terminal {
                guard Date().timeIntervalSince(lastPrinted) > 0.1 || step == totalSteps else { return }
                lastPrinted = Date()
                drawBar(step: step, loss: result.loss, tokensPerSecond: tokensPerSecond, eta: eta,
                        communication: ranks > 1 ? Self.communication(result) : "")
            } else {
                let every = logInterval ?? Swift.max(1, Swift.min(100, totalSteps / 50))
                guard step % every == 0 || step == totalSteps else { return }
                let communication = ranks > 1 ? Self.communication(result) : ""
                print(String(format: "step %d/%d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s%@  eta %@",
                             step, totalSteps, result.loss, result.learningRate, result.gradientNorm, tokensPerSecond, communication, formatDuration(eta)))
                fflush(nil)
            }
        case let .evaluation(step, loss):
            lastValidation = loss
            if json {
                printJSONLine(["event": "evaluation", "step": step, "validationLoss": loss, "validationBitsPerByte": bits(loss)])
            } else {
                clearBar()
                print(String(format: "step %d: validation loss %.4f nats/byte (%.4f bits/byte)", step, loss, bits(loss)))
                fflush(nil)
            }
        case let .checkpoint(step, directory):
            if json { printJSONLine(["event": "checkpoint", "step": step, "directory": directory.path]) }
            else if !terminal { print("step \(step): checkpoint written to \(directory.path)"); fflush(nil) }
        case let .interrupted(step):
            if json { printJSONLine(["event": "interrupted", "step": step]) }
            else { clearBar(); print("interrupted at step \(step); checkpoint saved. Continue with --resume."); fflush(nil) }
        }
    }

    func finish(trainer: TinyLLMTrainer, corpus: ByteCorpus, seconds: Double, interrupted: Bool) {
        clearBar()
        guard !interrupted else { return }
        let full = trainer.model.averageLoss(on: corpus.validation)
        if json {
            printJSONLine(["event": "done", "step": trainer.step, "seconds": seconds.rounded(),
                           "validationLoss": full, "validationBitsPerByte": bits(full)])
        } else {
            print(String(format: "done: %d steps in %@; full validation split: %.4f nats/byte (%.4f bits/byte)",
                         trainer.step, formatDuration(seconds), full, bits(full)))
        }
    }

    // MARK: Terminal bar

    /// `  comm 1.2 ms (3.4 in MPI)`: the wait after the backward pass for the gradient buckets,
    /// then all the time spent in MPI calls during the step (the wait included).
    private static func communication(_ result: TinyLLMTrainer.StepResult) -> String {
        String(format: "  comm %.1f ms (%.1f in MPI)", result.communicationSeconds * 1000, result.communicationTotalSeconds * 1000)
    }

    private mutating func drawBar(step: Int, loss: Float, tokensPerSecond: Double, eta: Double, communication: String) {
        let width = 24
        let filled = Int(Double(width) * Double(step) / Double(Swift.max(totalSteps, 1)))
        var bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        if colorEnabled { bar = "\u{1B}[36m" + bar + "\u{1B}[0m" }
        let validation = lastValidation.map { String(format: "  val %.3f", $0) } ?? ""
        let text = String(format: "\r%@ step %d/%d  loss %.3f%@  %.1fk tok/s%@  ETA %@ ",
                          bar, step, totalSteps, loss, validation, tokensPerSecond / 1000, communication, formatDuration(eta))
        FileHandle.standardError.write(Data(text.utf8))
        lastLine = text.count
    }

    private func clearBar() {
        guard terminal, lastLine > 0 else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: lastLine) + "\r").utf8))
    }
}
