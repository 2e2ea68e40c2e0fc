import Training

/// Hyperparameters of a training run. Stored in every checkpoint, so `--resume` continues
/// the exact schedule. Defaults are nanoGPT's `train_shakespeare_char` settings with the
/// CPU overrides (batch 12, no dropout, 2000 iterations, evaluation every 250 steps).
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Windows per step (`B`); each holds `contextLength` bytes, so a step sees `B·L` tokens.
    public var batchSize = 12
    /// Total number of optimizer steps; the cosine schedule ends here.
    public var steps = 2000
    /// Peak learning rate after warmup.
    public var learningRate: Float = 1e-3
    /// The floor the cosine decay reaches at ``steps`` (nanoGPT: peak / 10).
    public var minimumLearningRate: Float = 1e-4
    /// Linear warmup steps.
    public var warmupSteps = 100
    /// AdamW's decoupled weight decay λ (matrices only; see `WeightDecayRule`).
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    /// Gradients are rescaled when their global L2 norm exceeds this (0 disables clipping).
    public var gradientClip: Float = 1.0
    /// Validation loss every this many steps (and at the end); 0 disables periodic evaluation.
    public var evaluationInterval = 250
    /// Validation batches per evaluation (the same windows every time, so numbers compare).
    public var evaluationBatches = 20
    /// A checkpoint every this many steps (and at the end); 0: only at the end.
    public var checkpointInterval = 500
    /// Seeds the initial weights, the data order and dropout.
    public var seed: UInt64 = 1337
    /// How many shards each step's batch is split into, trained concurrently, one per thread
    /// (see ``TinyLLMTrainer/shardCount``); nil: one per worker thread, at most the batch
    /// size. The gradient is the whole batch's either way; the shard count changes only the
    /// order of its sums, hence the last bits of a run, which is why it is kept here (and in
    /// checkpoints): a resumed run splits its steps as before.
    public var shards: Int? = nil

    public init() {}

    /// The warmup + cosine schedule these options describe.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(
            peak: learningRate, floor: minimumLearningRate, warmupSteps: Swift.min(warmupSteps, steps),
            decaySteps: steps, decay: .cosine)
    }

    /// The most steps a run may ask for (10⁹: weeks of training even for the tiny preset); a
    /// bound that keeps step arithmetic far from overflow whatever a checkpoint claims.
    public static let maximumSteps = 1_000_000_000
    /// The most validation batches per evaluation (each is a forward pass).
    public static let maximumEvaluationBatches = 10_000

    /// Checks options that came from outside (command line, checkpoint).
    /// - Throws: ``TinyLLMError/invalidArgument(_:)`` naming the bad option.
    public func validate() throws {
        func fail(_ message: String) -> TinyLLMError { .invalidArgument(message) }
        guard batchSize >= 1, batchSize <= 4096 else { throw fail("batch size must be in 1...4096, got \(batchSize)") }
        guard steps >= 1, steps <= Self.maximumSteps else { throw fail("steps must be in 1...\(Self.maximumSteps), got \(steps)") }
        guard learningRate.isFinite, learningRate > 0 else { throw fail("learning rate must be > 0, got \(learningRate)") }
        guard minimumLearningRate.isFinite, minimumLearningRate >= 0, minimumLearningRate <= learningRate else {
            throw fail("minimum learning rate must be in 0...\(learningRate), got \(minimumLearningRate)")
        }
        guard warmupSteps >= 0, warmupSteps <= Self.maximumSteps else {
            throw fail("warmup steps must be in 0...\(Self.maximumSteps), got \(warmupSteps)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw fail("weight decay must be ≥ 0, got \(weightDecay)") }
        guard beta1 >= 0, beta1 < 1, beta2 >= 0, beta2 < 1 else { throw fail("betas must be in [0, 1), got \(beta1), \(beta2)") }
        guard gradientClip >= 0, gradientClip.isFinite else { throw fail("gradient clip must be ≥ 0, got \(gradientClip)") }
        guard evaluationInterval >= 0, checkpointInterval >= 0,
              evaluationInterval <= Self.maximumSteps, checkpointInterval <= Self.maximumSteps else {
            throw fail("evaluation and checkpoint intervals must be in 0...\(Self.maximumSteps), got \(evaluationInterval) and \(checkpointInterval)")
        }
        if let shards, shards < 1 || shards > batchSize {
            throw fail("shards must be in 1...\(batchSize) (the batch size), got \(shards)")
        }
        guard evaluationBatches >= 1, evaluationBatches <= Self.maximumEvaluationBatches else {
            throw fail("evaluation batches must be in 1...\(Self.maximumEvaluationBatches), got \(evaluationBatches)")
        }
    }
}
