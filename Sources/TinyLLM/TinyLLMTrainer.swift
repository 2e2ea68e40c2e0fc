import Attention
import Training

/// One training run of a ``TinyLLMModel`` on a ``ByteCorpus``: the state that a checkpoint
/// saves, and the step that advances it.
///
/// A step (nanoGPT's loop, one micro-batch):
/// ```
/// lr  = schedule(step)                       warmup then cosine to the floor
/// (x, y) = B random windows of the training split     (data generator)
/// g   = ∇ loss(x, y)                         tape, dropout seeded by (seed, step)
/// g  ← g · min(1, clip / ‖g‖₂)
/// θ  ← AdamW(θ, g, lr)
/// ```
/// Everything a step reads is in the state (weights, AdamW moments and step, the data
/// generator, the step counter) and dropout is seeded by the step number, so a run restored
/// from a checkpoint continues bit for bit as if it had never stopped.
public struct TinyLLMTrainer: Sendable {
    public private(set) var model: TinyLLMModel
    public private(set) var optimizer: AdamW
    public let options: TrainingOptions
    /// Updates taken so far.
    public private(set) var step = 0
    /// Draws the training windows; its state is part of every checkpoint.
    public private(set) var dataGenerator: SeededGenerator

    public var configuration: TinyLLMConfiguration { model.configuration }
    /// Bytes (tokens) consumed by one step: `batchSize · contextLength`.
    public var tokensPerStep: Int { options.batchSize * configuration.contextLength }

    /// A fresh run: weights initialised from `options.seed`.
    public init(configuration: TinyLLMConfiguration, options: TrainingOptions) {
        checkConfiguration(configuration)
        var initGenerator = SeededGenerator(seed: options.seed)
        model = TinyLLMModel(configuration: configuration, generator: &initGenerator)
        optimizer = Self.makeOptimizer(options)
        self.options = options
        dataGenerator = SeededGenerator(seed: options.seed ^ 0x5DA7_A5EE_D000_0001)
    }

    /// A run restored from saved state (see ``TinyLLMCheckpoint``).
    /// - Throws: ``TinyLLMError/invalidCheckpoint(path:reason:)`` when the optimizer state
    ///   does not fit the model.
    public init(model: TinyLLMModel, options: TrainingOptions, step: Int, dataGenerator: SeededGenerator,
                optimizerState: [(name: String, tensor: Tensor)], optimizerStep: Int, source: String = "checkpoint") throws {
        self.model = model
        self.options = options
        self.step = step
        self.dataGenerator = dataGenerator
        var optimizer = Self.makeOptimizer(options)
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.tensor.shape) })
        for (name, tensor) in optimizerState {
            let parameter = String(name.split(separator: ".", maxSplits: 2).last ?? "")
            guard let shape = shapes[parameter] else {
                throw TinyLLMError.invalidCheckpoint(path: source, reason: "optimizer state \(name) names no model parameter")
            }
            guard shape == tensor.shape else {
                throw TinyLLMError.invalidCheckpoint(path: source,
                    reason: "optimizer state \(name) has shape \(tensor.shape) but the parameter has \(shape)")
            }
        }
        do { try optimizer.restore(state: optimizerState, step: optimizerStep) } catch {
            throw TinyLLMError.invalidCheckpoint(path: source, reason: "\(error)")
        }
        self.optimizer = optimizer
    }

    static func makeOptimizer(_ options: TrainingOptions) -> AdamW {
        AdamW(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2, epsilon: 1e-8,
              weightDecay: options.weightDecay)
    }

    /// Whether every step of ``TrainingOptions/steps`` has been taken.
    public var isFinished: Bool { step >= options.steps }

    /// The learning rate of the next step.
    public var learningRate: Float { options.schedule(step) }

    /// Result of one step.
    public struct StepResult: Sendable {
        /// Training loss of the step's batch (nats/byte), before the update.
        public var loss: Float
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
        public var learningRate: Float
    }

    /// Takes one optimizer step.
    /// - Throws: `TrainingError` when the loss or a gradient is not finite (nothing changes).
    @discardableResult
    public mutating func trainStep(corpus: ByteCorpus) throws -> StepResult {
        let lr = options.schedule(step)
        var generator = dataGenerator
        let (inputs, targets) = corpus.batch(.training, batchSize: options.batchSize,
                                             length: configuration.contextLength, generator: &generator)
        let tape = Tape(training: true, seed: options.seed &+ 0x9E37_79B9 &* UInt64(step + 1))
        let loss = model.loss(inputs: inputs, targets: targets, on: tape)
        var gradients = try tape.backward(loss, step: step)
        let norm = options.gradientClip > 0 ? gradients.clipByGlobalNorm(options.gradientClip) : gradients.globalNorm
        optimizer.learningRate = lr
        try optimizer.update(&model, with: gradients)
        dataGenerator = generator
        step += 1
        return StepResult(loss: loss.value.scalars[0], gradientNorm: norm, learningRate: lr)
    }

    /// Validation loss (nats/byte) on ``TrainingOptions/evaluationBatches`` fixed random
    /// windows of the validation split (the same windows at every call).
    public func estimateValidationLoss(corpus: ByteCorpus) -> Double {
        var generator = SeededGenerator(seed: options.seed ^ 0xE7A1_0000_0000_0002)
        var total = 0.0
        for _ in 0..<options.evaluationBatches {
            let (inputs, targets) = corpus.batch(.validation, batchSize: options.batchSize,
                                                 length: configuration.contextLength, generator: &generator)
            total += model.evaluationLoss(inputs: inputs, targets: targets)
        }
        return total / Double(options.evaluationBatches)
    }
}

extension TinyLLMModel {
    /// Mean loss (nats/byte) over every byte of `bytes` after the first, in consecutive
    /// windows of `contextLength` (each byte predicted once, from up to `contextLength`
    /// preceding bytes of its window), `batchSize` windows per forward.
    public func averageLoss(on bytes: [UInt8], batchSize: Int = 16) -> Double {
        let windows = ByteCorpus.windows(covering: bytes, length: configuration.contextLength)
        var total = 0.0, count = 0
        var i = 0
        while i < windows.count {
            // Rows of one forward must share a length: group equal-length windows.
            let length = windows[i].inputs.count
            var j = i
            while j < windows.count, j - i < batchSize, windows[j].inputs.count == length { j += 1 }
            let group = windows[i..<j]
            let n = group.count * length
            total += evaluationLoss(inputs: group.map(\.inputs), targets: group.map(\.targets)) * Double(n)
            count += n
            i = j
        }
        return count == 0 ? 0 : total / Double(count)
    }
}
