import Foundation
import Training

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
    ///
    /// Data parallelism (`group` with more than one rank, see
    /// ``trainStep(corpus:group:stop:bucketBytes:)``): every rank calls `run` with the same
    /// state and `bucketBytes`; each step sums the gradients in buckets of about `bucketBytes`
    /// while the backward pass runs (0: one all-reduce after it). Only rank 0 evaluates, writes checkpoints into `directory` and
    /// reports events (other ranks ignore `directory` and `report`). A stop request on any
    /// rank travels with the next step's all-reduce, so every rank stops after the same step.
    /// The ranks compare ``weightDigest`` before the first step, every `digestInterval` steps
    /// and at the end, and throw ``CommunicationError/weightsDiverged(step:digests:)`` when
    /// they differ.
    public mutating func run(
        corpus: ByteCorpus, directory: URL?, group: (any Communicator)? = nil, digestInterval: Int = 50,
        bucketBytes: Int = GradientBucketPlan.defaultBucketBytes,
        shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in }
    ) throws {
        try corpus.checkFits(length: configuration.contextLength)
        let parallel = (group?.size ?? 1) > 1
        let leader = group?.isLeader ?? true
        let directory = leader ? directory : nil
        func emit(_ event: TrainingEvent) { if leader { report(event) } }
        if parallel { try checkDigests(group) }
        var busySeconds = 0.0, stepsTimed = 0
        while !isFinished {
            let stop = shouldStop()
            if stop && !parallel {
                if let directory { try TinyLLMCheckpoint.save(self, corpus: corpus, to: directory) }
                emit(.interrupted(step: step))
                return
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let result = parallel ? try trainStep(corpus: corpus, group: group, stop: stop, bucketBytes: bucketBytes) : try trainStep(corpus: corpus)
            busySeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            stepsTimed += 1
            let perStep = busySeconds / Double(stepsTimed)
            emit(.step(step: step, result: result, tokensPerSecond: Double(tokensPerStep) / perStep, secondsPerStep: perStep))
            if parallel, isFinished || (digestInterval > 0 && step % digestInterval == 0) { try checkDigests(group) }
            if result.stopRequested {
                if let directory { try TinyLLMCheckpoint.save(self, corpus: corpus, to: directory) }
                emit(.interrupted(step: step))
                return
            }
            let interval = options.evaluationInterval
            if leader, isFinished || (interval > 0 && step % interval == 0) {
                emit(.evaluation(step: step, validationLoss: estimateValidationLoss(corpus: corpus)))
            }
            let every = options.checkpointInterval
            if let directory, isFinished || (every > 0 && step % every == 0) {
                try TinyLLMCheckpoint.save(self, corpus: corpus, to: directory)
                emit(.checkpoint(step: step, directory: directory))
            }
        }
    }

    /// Compares ``weightDigest`` across the ranks of `group`.
    /// - Throws: ``CommunicationError/weightsDiverged(step:digests:)``.
    public func checkDigests(_ group: (any Communicator)?) throws {
        guard let group, group.size > 1 else { return }
        let digests = try group.allGather(weightDigest)
        if Set(digests).count > 1 { throw CommunicationError.weightsDiverged(step: step, digests: digests) }
    }
}
