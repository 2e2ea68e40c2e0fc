import Foundation

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    /// A step finished: its result, and the throughput of the steps so far in this process.
    case step(step: Int, result: TinyLLMTrainer.StepResult, tokensPerSecond: Double, secondsPerStep: Double)
    /// Validation loss (nats/byte) on the fixed evaluation windows after `step` steps.
    case evaluation(step: Int, validationLoss: Double)
    /// A checkpoint was written after `step` steps.
    case checkpoint(step: Int, directory: URL)
    /// The run stopped early because `shouldStop` asked (a checkpoint was written first).
    case interrupted(step: Int)
}

extension TinyLLMTrainer {
    /// Trains until ``TrainingOptions/steps`` or until `shouldStop()` (polled between steps)
    /// returns true; evaluates every ``TrainingOptions/evaluationInterval`` steps and at the
    /// end, writes a checkpoint into `directory` every ``TrainingOptions/checkpointInterval``
    /// steps, at the end and on interruption (nil `directory`: no files).
    ///
    /// Evaluation and checkpoints read the state without changing it, so where a run stops
    /// never changes what it computes: stopping at step k and resuming gives the same weights
    /// as not stopping.
    public mutating func run(
        corpus: ByteCorpus, directory: URL?, shouldStop: () -> Bool = { false },
        report: (TrainingEvent) -> Void = { _ in }
    ) throws {
        try corpus.checkFits(length: configuration.contextLength)
        var busySeconds = 0.0, stepsTimed = 0
        while !isFinished {
            if shouldStop() {
                if let directory { try TinyLLMCheckpoint.save(self, corpus: corpus, to: directory) }
                report(.interrupted(step: step))
                return
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let result = try trainStep(corpus: corpus)
            busySeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            stepsTimed += 1
            let perStep = busySeconds / Double(stepsTimed)
            report(.step(step: step, result: result, tokensPerSecond: Double(tokensPerStep) / perStep, secondsPerStep: perStep))
            let interval = options.evaluationInterval
            if isFinished || (interval > 0 && step % interval == 0) {
                report(.evaluation(step: step, validationLoss: estimateValidationLoss(corpus: corpus)))
            }
            let every = options.checkpointInterval
            if let directory, isFinished || (every > 0 && step % every == 0) {
                try TinyLLMCheckpoint.save(self, corpus: corpus, to: directory)
                report(.checkpoint(step: step, directory: directory))
            }
        }
    }
}
