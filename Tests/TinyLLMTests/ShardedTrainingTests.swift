import Attention
import Foundation
import Testing
import TinyLLM
import Training

/// A step's batch split into shards, one thread each (`TrainingOptions.shards`).
@Suite struct ShardedTrainingTests {
    /// Trains `options` for its steps; returns the losses and the final trainer.
    private func train(_ options: TrainingOptions) throws -> (losses: [Float], trainer: TinyLLMTrainer) {
        var trainer = TinyLLMTrainer(configuration: .tiny, options: options)
        var losses: [Float] = []
        try trainer.run(corpus: makeTestCorpus(), directory: nil, report: { event in
            if case .step(_, let result, _, _) = event { losses.append(result.loss) }
        })
        return (losses, trainer)
    }

    private func options(shards: Int?, batch: Int = 7, steps: Int = 30) -> TrainingOptions {
        var options = testOptions(steps: steps)
        options.batchSize = batch
        options.shards = shards
        return options
    }

    /// Any split of a batch of 7 (even and uneven) follows the whole-batch trajectory: losses
    /// and weights equal to 1e-5 relative over 30 steps (only the order of the sums differs).
    @Test(arguments: [2, 3, 7])
    func shardsFollowTheWholeBatchTrajectory(shards: Int) throws {
        let whole = try train(options(shards: 1))
        let split = try train(options(shards: shards))
        #expect(split.trainer.shardCount == shards && whole.trainer.shardCount == 1)
        #expect(whole.losses.count == 30 && split.losses.count == 30)
        for (a, b) in zip(whole.losses, split.losses) { #expect(abs(a - b) <= 1e-5 * abs(a), "loss \(a) vs \(b)") }
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(whole.trainer.model.namedParameters, split.trainer.model.namedParameters) {
            #expect(x.name == y.name)
            for (a, b) in zip(x.tensor.scalars, y.tensor.scalars) {
                difference += Double(a - b) * Double(a - b); norm += Double(a) * Double(a)
            }
        }
        #expect((difference / norm).squareRoot() <= 1e-5, "relative weight difference \((difference / norm).squareRoot())")
        #expect(split.trainer.dataGenerator.state == whole.trainer.dataGenerator.state)
    }

    /// The same shard count gives the same bits, run after run (the shards finish in any
    /// order; their gradients are summed in shard order).
    @Test func aShardedRunIsReproducible() throws {
        let first = try train(options(shards: 3, steps: 12))
        let second = try train(options(shards: 3, steps: 12))
        #expect(first.losses.map(\.bitPattern) == second.losses.map(\.bitPattern))
        #expect(firstBitDifference(stateTensors(first.trainer), stateTensors(second.trainer)) == nil)
    }

    /// Without `shards`, a step splits into one shard per worker thread, never more than the batch.
    @Test func theDefaultIsOneShardPerThreadUpToTheBatch() {
        #expect(TinyLLMTrainer(configuration: .tiny, options: options(shards: nil, batch: 4096)).shardCount
            == Threading.threadCount)
        #expect(TinyLLMTrainer(configuration: .tiny, options: options(shards: nil, batch: 1)).shardCount == 1)
        #expect(TinyLLMTrainer(configuration: .tiny, options: options(shards: 5)).shardCount == 5)
    }

    @Test(arguments: [0, -1, 8])
    func aShardCountOutsideTheBatchIsRefused(shards: Int) {
        #expect {
            try options(shards: shards).validate()
        } throws: { error in
            "\(error)".contains("shards must be in 1...7") && "\(error)".contains("got \(shards)")
        }
    }

    /// Checkpoints written before `shards` existed have no such key: they load as nil
    /// (one shard per thread); a set value round-trips.
    @Test func optionsWithoutShardsStillDecode() throws {
        var saved = options(shards: 3)
        let data = try JSONEncoder().encode(saved)
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: data) == saved)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object.removeValue(forKey: "shards")
        let old = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: object))
        saved.shards = nil
        #expect(old == saved)
    }

    /// What the sharded step relies on: every kernel inside `Threading.serially` runs on the
    /// calling thread and gives the same bits as outside, where products, norms and attention
    /// split across the threads. Checked on a whole loss and backward pass of the tiny model.
    @Test func kernelsInsideSeriallyGiveTheSameBits() throws {
        let model = TinyLLMTrainer(configuration: .tiny, options: options(shards: 1)).model
        var generator = SeededGenerator(seed: 11)
        let (inputs, targets) = makeTestCorpus().batch(.training, batchSize: 6, length: 16, generator: &generator)
        func lossAndGradients() throws -> (Float, [String: [Float]]) {
            let tape = Tape(training: true, seed: 5)
            let loss = model.loss(inputs: inputs, targets: targets, on: tape)
            let gradients = try tape.backward(loss)
            return (loss.value.scalars[0], Dictionary(uniqueKeysWithValues: gradients.namedTensors.map { ($0.name, $0.tensor.scalars) }))
        }
        let (outsideLoss, outside) = try lossAndGradients()
        let (insideLoss, inside) = try Threading.serially {
            #expect(Threading.available == 1)
            Threading.serially { #expect(Threading.available == 1) }   // nests
            #expect(Threading.available == 1)
            return try lossAndGradients()
        }
        #expect(Threading.available == Threading.threadCount)
        #expect(outsideLoss.bitPattern == insideLoss.bitPattern)
        #expect(firstBitDifference(outside, inside) == nil)
    }

    /// `averageLoss` evaluates its groups of windows side by side on the threads; the total is
    /// still the groups' summed losses added in order, bit for bit what one group after another
    /// gives (the last group is shorter: 4 full windows of 16 per group of 3, then the rest).
    @Test func averageLossEqualsTheGroupsOneAfterAnother() {
        let model = TinyLLMTrainer(configuration: .tiny, options: options(shards: 1)).model
        let bytes = Array(makeTestCorpus(repeats: 3).training.prefix(16 * 7 + 5))
        let windows = ByteCorpus.windows(covering: bytes, length: model.configuration.contextLength)
        var total = 0.0, count = 0, i = 0
        while i < windows.count {
            var j = i
            while j < windows.count, j - i < 3, windows[j].inputs.count == windows[i].inputs.count { j += 1 }
            let group = windows[i..<j], n = group.count * windows[i].inputs.count
            total += model.evaluationLoss(inputs: group.map(\.inputs), targets: group.map(\.targets)) * Double(n)
            count += n
            i = j
        }
        #expect(windows.count >= 8 && Set(windows.map(\.inputs.count)).count == 2)
        #expect(model.averageLoss(on: bytes, batchSize: 3).bitPattern == (total / Double(count)).bitPattern)
    }

    /// The trainer's validation estimate evaluates its batches side by side; the mean is still
    /// the batches' losses added in order, bit for bit one batch after another on all threads.
    @Test func validationEstimateEqualsTheBatchesOneAfterAnother() throws {
        let corpus = makeTestCorpus(repeats: 3)
        var settings = options(shards: 1)
        settings.evaluationBatches = 5
        var trainer = TinyLLMTrainer(configuration: .tiny, options: settings)
        _ = try trainer.trainStep(corpus: corpus)   // weights off their initial values
        var generator = SeededGenerator(seed: settings.seed ^ 0xE7A1_0000_0000_0002)
        var total = 0.0
        for _ in 0..<settings.evaluationBatches {
            let (inputs, targets) = corpus.batch(.validation, batchSize: settings.batchSize,
                                                 length: trainer.configuration.contextLength, generator: &generator)
            total += trainer.model.evaluationLoss(inputs: inputs, targets: targets)
        }
        let estimate = trainer.estimateValidationLoss(corpus: corpus)
        #expect(estimate.bitPattern == (total / Double(settings.evaluationBatches)).bitPattern)
        #expect(trainer.estimateValidationLoss(corpus: corpus).bitPattern == estimate.bitPattern, "the same windows again")
    }

    /// `Σ_s w_s·g_s`, summed in part order, for every parameter.
    @Test func gradientsOfShardsAreTheirWeightedSum() {
        let a = Gradients([("w", Tensor(shape: [3], scalars: [1, 2, -4])), ("b", Tensor(shape: [1], scalars: [8]))])
        let b = Gradients([("w", Tensor(shape: [3], scalars: [3, 5, 0.5])), ("b", Tensor(shape: [1], scalars: [-8]))])
        let c = Gradients([("w", Tensor(shape: [3], scalars: [0, 1, 1])), ("b", Tensor(shape: [1], scalars: [2]))])
        let sum = Gradients.weightedSum([a, b, c], weights: [0.25, 0.5, 0.25])
        #expect(sum.names == ["w", "b"])
        let w: [Float] = [0.25 + 1.5, 0.5 + 2.5 + 0.25, -1 + 0.25 + 0.25], bias: [Float] = [2 - 4 + 0.5]
        #expect(sum["w"]!.scalars == w)
        #expect(sum["b"]!.scalars == bias)
        #expect(a["w"]!.scalars == [1, 2, -4])   // the parts are not changed
    }

    /// The norms taken with the sum are the sum's, and name the first parameter (in order)
    /// that is not finite in any part: the check that replaces the shards' own.
    @Test func theShardSumsNormsAreTheSumsAndNameTheFirstNonFiniteParameter() {
        func parts(_ poisonB: Float, _ poisonC: Float) -> [Gradients] {
            [Gradients([("w", Tensor(shape: [2], scalars: [3, -1])), ("b", Tensor(shape: [1], scalars: [2])),
                        ("c", Tensor(shape: [2], scalars: [poisonC, 1]))]),
             Gradients([("w", Tensor(shape: [2], scalars: [1, 5])), ("b", Tensor(shape: [1], scalars: [poisonB])),
                        ("c", Tensor(shape: [2], scalars: [0, 1]))])]
        }
        let (sum, norms) = Gradients.weightedSumAndNorms(parts(4, 2), weights: [0.75, 0.25])
        #expect(norms.firstNonFinite == nil)
        #expect(norms.global.bitPattern == sum.globalNorm.bitPattern)
        #expect(abs(Double(norms.global) - (2.5 * 2.5 + 0.5 * 0.5 + 2.5 * 2.5 + 1.5 * 1.5 + 1 * 1).squareRoot()) < 1e-6)
        #expect(Gradients.weightedSumAndNorms(parts(.nan, .infinity), weights: [0.75, 0.25]).norms.firstNonFinite == "b")
        #expect(Gradients.weightedSumAndNorms(parts(1, -.infinity), weights: [0.75, 0.25]).norms.firstNonFinite == "c")
        #expect(Gradients.weightedSumAndNorms([parts(1, .nan)[0]], weights: [1]).norms.firstNonFinite == "c")
    }
}
