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
        /// Seconds this rank waited after its backward pass until the gradient all-reduce was
        /// complete (0 in one process): the communication the backward pass did not hide,
        /// including waiting for slower ranks.
        public var communicationSeconds: Double = 0
        /// Seconds this rank spent inside the communicator during the step (0 in one
        /// process): starting bucket all-reduces and letting them progress between backward
        /// operations, plus ``communicationSeconds``.
        public var communicationTotalSeconds: Double = 0
        /// Whether any rank asked to stop during this step (data-parallel runs stop together).
        public var stopRequested = false
    }

    /// How many shards a step's batch is split into: ``TrainingOptions/shards``, else one per
    /// worker thread (`Threading.threadCount`), never more than the batch size.
    public var shardCount: Int { min(options.batchSize, max(1, options.shards ?? Threading.threadCount)) }

    /// Takes one optimizer step.
    ///
    /// The batch of `B` windows is split into `S` = ``shardCount`` contiguous shards
    /// (``DataParallel/rows(rank:size:batchSize:)``: `b_s` rows each). Each shard's forward
    /// and backward run on one thread of their own, with every kernel inside serial
    /// (`Threading.serially`): the hundreds of small operations of a step then need no hand-off
    /// between threads at all. With shard `s`'s mean loss `ℓ_s` and gradient `g_s`,
    /// ```
    /// g = Σ_s (b_s/B)·g_s = ∇ (1/(B·L)) Σ_{all B·L positions} loss      ℓ = Σ_s (b_s/B)·ℓ_s
    /// ```
    /// is the whole batch's gradient, as with data-parallel ranks; only the order of its sums
    /// depends on `S`. Clipping and AdamW then run once, split over the threads as usual. With
    /// `S = 1` the whole batch runs as one forward and backward, each operation split across
    /// the threads. Dropout (off in every preset) is seeded per shard.
    /// - Throws: `TrainingError` when the loss or a gradient is not finite (nothing changes).
    @discardableResult
    public mutating func trainStep(corpus: ByteCorpus) throws -> StepResult {
        let lr = options.schedule(step)
        var generator = dataGenerator
        let (inputs, targets) = corpus.batch(.training, batchSize: options.batchSize,
                                             length: configuration.contextLength, generator: &generator)
        let seed = options.seed &+ 0x9E37_79B9 &* UInt64(step + 1)
        let (loss, gradients, norms) = try Self.lossAndGradients(
            model: model, inputs: inputs, targets: targets, shards: shardCount, seed: seed, step: step)
        let norm = try clipAndUpdate(gradients, norms: norms, learningRate: lr)
        dataGenerator = generator
        step += 1
        return StepResult(loss: loss, gradientNorm: norm, learningRate: lr)
    }

    /// Clips `gradients` by their global norm (when ``TrainingOptions/gradientClip`` > 0) and
    /// takes the AdamW step, with `norms` those of `gradients`: the clipping factor
    /// `min(1, clip / ‖g‖₂)` is applied by AdamW as it reads each gradient (the values of
    /// `Gradients.clipByGlobalNorm` first), and the non-finite check is the one `norms` holds.
    /// Returns `‖g‖₂` before clipping.
    private mutating func clipAndUpdate(_ gradients: Gradients, norms: GradientNorms, learningRate: Float) throws -> Float {
        let norm = norms.global, clip = options.gradientClip
        optimizer.learningRate = learningRate
        try optimizer.update(&model, with: gradients, norms: norms,
                             gradientScale: clip > 0 && norm > clip ? clip / norm : 1)
        return norm
    }

    /// The batch's mean loss, its gradient and the gradient's norms, from `shards` shards
    /// computed concurrently (see ``trainStep(corpus:)``). Shard 0's tape is seeded with `seed`
    /// (the whole batch's when `shards == 1`), shard `s`'s with `seed` mixed with `s`, as
    /// data-parallel ranks are.
    private static func lossAndGradients(model: TinyLLMModel, inputs: [[Int]], targets: [[Int]], shards: Int,
                                         seed: UInt64, step: Int) throws -> (Float, Gradients, GradientNorms) {
        guard shards > 1 else {
            let tape = Tape(training: true, seed: seed)
            let loss = model.loss(inputs: inputs, targets: targets, on: tape)
            let gradients = try tape.backward(loss, step: step)
            return (loss.value.scalars[0], gradients, gradients.norms())
        }
        let batchSize = inputs.count
        var results = [Result<(loss: Float, gradients: Gradients), Error>?](repeating: nil, count: shards)
        results.withUnsafeMutableBufferPointer { slots in
            let out = UncheckedSendableBox(slots.baseAddress!)
            parallelParts(shards) { s in
                let rows = DataParallel.rows(rank: s, size: shards, batchSize: batchSize)
                out.value[s] = Result {
                    let tape = Tape(training: true, seed: s == 0 ? seed : seed ^ (0xD1B5_4A32_D192_ED03 &* UInt64(s)))
                    let loss = model.loss(inputs: Array(inputs[rows]), targets: Array(targets[rows]), on: tape)
                    // Checked for NaN and ±∞ in the sum below, not part by part.
                    return (loss.value.scalars[0], try tape.backwardSkippingFiniteCheck(loss, step: step))
                }
            }
        }
        var losses: [Float] = [], parts: [Gradients] = []
        for s in results.indices {
            let result = checkNotNil(results[s], "TinyLLMTrainer: shard \(s) of \(shards) left no result")
            results[s] = nil   // so the part's tensors are referenced once, and summed in place
            let (loss, gradients) = try result.get()   // the first failing shard's error, in shard order
            losses.append(loss)
            parts.append(gradients)
        }
        let weights = (0..<shards).map { Float(DataParallel.rows(rank: $0, size: shards, batchSize: batchSize).count) / Float(batchSize) }
        let loss = zip(losses, weights).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let (sum, norms) = Gradients.weightedSumAndNorms(consume parts, weights: weights)
        // Every weight is > 0, so the sum is non-finite wherever a part is: the first parameter
        // (in order) that is not finite in some shard, as a tape's own check would name it.
        if let name = norms.firstNonFinite { throw TrainingError.nonFiniteGradient(step: step, parameter: name) }
        return (loss, sum, norms)
    }

    /// Takes one optimizer step as rank `group.rank` of a data-parallel group.
    ///
    /// Every rank draws the same global batch of `B` = ``TrainingOptions/batchSize`` windows
    /// from the same generator state and computes rows `⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋` of it
    /// (``DataParallel/rows(rank:size:batchSize:)``). With `b_r` rows, rank `r`'s mean
    /// gradient `g_r` and loss `ℓ_r` are weighted by `b_r / B` and summed over the ranks, so
    /// every rank gets
    /// ```
    /// g = Σ_r (b_r/B)·g_r = ∇ (1/(B·L)) Σ_{all B·L positions} loss      ℓ = Σ_r (b_r/B)·ℓ_r
    /// ```
    /// exactly what one process computes on the whole batch (up to summation order), for
    /// uneven splits too. Clipping and AdamW then run on identical inputs on every rank, so
    /// the weights stay identical.
    ///
    /// The gradients are summed in buckets of about `bucketBytes` (Training's `GradientReduction`):
    /// each bucket's all-reduce starts as soon as the backward pass has finished its
    /// gradients and travels while the backward pass goes on. The last bucket carries two
    /// more sums: ranks whose step failed (then every rank throws, none waits for a partner
    /// that left) and ranks that were asked to stop (`stop`; then
    /// ``StepResult/stopRequested`` is true on every rank). A rank whose step failed still
    /// takes part in every bucket's all-reduce.
    ///
    /// With a group of one this is ``trainStep(corpus:)``. Dropout (off in every preset) is
    /// seeded per rank, so the one-process equivalence holds only without it.
    /// - Parameters:
    ///   - corpus: the training text (the same on every rank).
    ///   - group: the ranks; nil or a group of one trains in this process alone.
    ///   - stop: whether this rank was asked to stop (every rank learns it from this step).
    ///   - bucketBytes: bucket capacity in bytes of gradients (the same on every rank); 0 or
    ///     less: one all-reduce after the backward pass (no overlap).
    /// - Throws: `TrainingError` when this rank's loss or gradient is not finite,
    ///   ``CommunicationError`` when another rank failed or the group broke.
    @discardableResult
    public mutating func trainStep(corpus: ByteCorpus, group: (any Communicator)?, stop: Bool = false,
                                   bucketBytes: Int = GradientBucketPlan.defaultBucketBytes) throws -> StepResult {
        guard let group, group.size > 1 else {
            var result = try trainStep(corpus: corpus)
            result.stopRequested = stop
            return result
        }
        let lr = options.schedule(step)
        let batchSize = options.batchSize
        let rows = group.rows(ofBatch: batchSize)
        var generator = dataGenerator
        let (inputs, targets) = corpus.batch(.training, batchSize: batchSize, length: configuration.contextLength,
                                             rows: rows, generator: &generator)
        let plan = GradientBucketPlan(parameters: model.namedParameters.map { ($0.name, $0.tensor.count) },
                                      bucketBytes: bucketBytes)
        // Control values, summed with the last bucket: [weighted loss, failed ranks, stop requests].
        let reduction = GradientReduction(plan: plan, group: group, weight: Float(rows.count) / Float(batchSize),
                                          controlCount: 3)
        var failure: Error?
        var gradients = Gradients()
        var localLoss: Float = 0
        if rows.isEmpty {
            failure = CommunicationError.peerFailed(ranks: [group.rank], during: "to get a row of the batch (batch size \(batchSize) < \(group.size) ranks)")
        } else {
            let seed = options.seed &+ 0x9E37_79B9 &* UInt64(step + 1)
            let tape = Tape(training: true, seed: group.rank == 0 ? seed : seed ^ (0xD1B5_4A32_D192_ED03 &* UInt64(group.rank)))
            let loss = model.loss(inputs: inputs, targets: targets, on: tape)
            localLoss = loss.value.scalars[0]
            do {
                gradients = try tape.backward(loss, step: step, onParameterGradientReady: reduction.gradientReady,
                                              afterEachRule: reduction.progress)
            } catch { failure = error }
        }
        let control = try reduction.finish(control: [failure == nil ? localLoss * reduction.weight : 0,
                                                     failure == nil ? 0 : 1, stop ? 1 : 0])
        if let failure { throw failure }
        if control[1] > 0 {
            throw CommunicationError.peerFailed(ranks: [], during: "step \(step + 1) (\(Int(control[1])) rank(s): non-finite loss or gradient, or no rows)")
        }
        reduction.copySums(into: &gradients)
        let norm = try clipAndUpdate(gradients, norms: gradients.norms(), learningRate: lr)
        dataGenerator = generator
        step += 1
        return StepResult(loss: control[0], gradientNorm: norm, learningRate: lr,
                          communicationSeconds: reduction.waitSeconds, communicationTotalSeconds: reduction.callSeconds,
                          stopRequested: control[2] > 0)
    }

    /// FNV-1a 64 of every parameter's Float32 bytes in checkpoint order: equal on every rank
    /// of a data-parallel run as long as the weights are bit-identical.
    public var weightDigest: UInt64 {
        var hash = FNV1a64()
        for (_, tensor) in model.namedParameters { tensor.withUnsafeBufferPointer { hash.update(UnsafeRawBufferPointer($0)) } }
        return hash.value
    }

    /// Validation loss (nats/byte) on ``TrainingOptions/evaluationBatches`` fixed random
    /// windows of the validation split (the same windows at every call): the mean of the
    /// batches' losses, `(1/E) Σ_e L_e`. The batches are drawn in order, evaluated side by side on
    /// the threads (each serial inside, so each `L_e` has the bits of the split kernels), and
    /// added in batch order: the value of evaluating one batch after another, bit for bit.
    public func estimateValidationLoss(corpus: ByteCorpus) -> Double {
        var generator = SeededGenerator(seed: options.seed ^ 0xE7A1_0000_0000_0002)
        let batches = (0..<options.evaluationBatches).map { _ in
            corpus.batch(.validation, batchSize: options.batchSize, length: configuration.contextLength,
                         generator: &generator)
        }
        let losses = parallelPartsMap(batches.count) { e in
            model.evaluationLoss(inputs: batches[e].inputs, targets: batches[e].targets)
        }
        return losses.reduce(0, +) / Double(options.evaluationBatches)
    }
}

extension TinyLLMModel {
    /// Mean loss (nats/byte) over every byte of `bytes` after the first, in consecutive
    /// windows of `contextLength` (each byte predicted once, from up to `contextLength`
    /// preceding bytes of its window), `batchSize` windows per forward.
    public func averageLoss(on bytes: [UInt8], batchSize: Int = 16) -> Double {
        let windows = ByteCorpus.windows(covering: bytes, length: configuration.contextLength)
        // Rows of one forward must share a length: groups of equal-length windows, in order.
        var groups: [Range<Int>] = []
        var i = 0
        while i < windows.count {
            let length = windows[i].inputs.count
            var j = i
            while j < windows.count, j - i < batchSize, windows[j].inputs.count == length { j += 1 }
            groups.append(i..<j)
            i = j
        }
        // Each group's summed loss, the groups side by side on the threads (each serial inside:
        // the same bits as split kernels), then added in group order: the same total as one
        // group after another.
        let sums = parallelPartsMap(groups.count) { g in
            let group = windows[groups[g]]
            let n = group.count * (group.first?.inputs.count ?? 0)
            return evaluationLoss(inputs: group.map(\.inputs), targets: group.map(\.targets)) * Double(n)
        }
        let count = groups.reduce(0) { $0 + $1.count * windows[$1.lowerBound].inputs.count }
        return count == 0 ? 0 : sums.reduce(0, +) / Double(count)
    }
}
