import Attention
import Foundation
import Testing
import Training
import TinyLLM

@Suite struct TrainingRunTests {
    @Test func tinyPresetLossFalls() throws {
        let corpus = makeTestCorpus()
        var trainer = TinyLLMTrainer(configuration: .tiny, options: testOptions(steps: 40))
        let before = trainer.estimateValidationLoss(corpus: corpus)
        var losses: [Float] = []
        while !trainer.isFinished { losses.append(try trainer.trainStep(corpus: corpus).loss) }
        let after = trainer.estimateValidationLoss(corpus: corpus)
        // Uniform guessing over 256 bytes costs ln 256 = 5.545 nats; the untrained model is near it.
        #expect(abs(before - log(256)) < 0.3, "untrained validation loss \(before) should be near ln 256")
        let firstFive = losses.prefix(5).reduce(0, +) / 5, lastFive = losses.suffix(5).reduce(0, +) / 5
        #expect(lastFive < firstFive - 1.5, "training loss fell only from \(firstFive) to \(lastFive)")
        #expect(after < before - 1.5, "validation loss fell only from \(before) to \(after)")
    }

    @Test(arguments: [TinyLLMConfiguration.Positions.learned, .rotary])
    func sameSeedGivesBitIdenticalRuns(positions: TinyLLMConfiguration.Positions) throws {
        let corpus = makeTestCorpus()
        var configuration = TinyLLMConfiguration.tiny
        configuration.positions = positions
        configuration.dropout = 0.1          // dropout must be reproducible too
        func run() throws -> TinyLLMTrainer {
            var trainer = TinyLLMTrainer(configuration: configuration, options: testOptions(steps: 8))
            while !trainer.isFinished { try trainer.trainStep(corpus: corpus) }
            return trainer
        }
        let a = try run(), b = try run()
        #expect(firstBitDifference(stateTensors(a), stateTensors(b)) == nil, "\(positions): two runs with one seed differ")
        var other = testOptions(steps: 8, seed: 8)
        other.seed = 8
        var c = TinyLLMTrainer(configuration: configuration, options: other)
        while !c.isFinished { try c.trainStep(corpus: corpus) }
        #expect(firstBitDifference(stateTensors(a), stateTensors(c)) != nil, "\(positions): a different seed changed nothing")
    }

    /// Stop at step k (as Ctrl-C does: the run loop saves and returns), restore from the
    /// checkpoint file, finish: weights, AdamW moments and data generator equal an
    /// uninterrupted run bit for bit.
    @Test(arguments: [1, 9, 17])
    func resumeEqualsUninterruptedRun(stopAt: Int) throws {
        let corpus = makeTestCorpus()
        var options = testOptions(steps: 20)
        options.checkpointInterval = 6
        options.evaluationInterval = 5
        var configuration = TinyLLMConfiguration.tiny
        configuration.dropout = 0.1
        let straightDirectory = temporaryDirectory("straight"), stoppedDirectory = temporaryDirectory("stopped")
        defer {
            try? FileManager.default.removeItem(at: straightDirectory)
            try? FileManager.default.removeItem(at: stoppedDirectory)
        }
        var straight = TinyLLMTrainer(configuration: configuration, options: options)
        try straight.run(corpus: corpus, directory: straightDirectory)

        var interruptedAt: Int? = nil
        var first = TinyLLMTrainer(configuration: configuration, options: options)
        var polls = 0
        try first.run(corpus: corpus, directory: stoppedDirectory, shouldStop: {
            polls += 1
            return polls > stopAt
        }, report: { event in
            if case .interrupted(let step) = event { interruptedAt = step }
        })
        #expect(interruptedAt == stopAt, "the run should stop after \(stopAt) steps, stopped at \(interruptedAt ?? -1)")
        var resumed = try TinyLLMCheckpoint.loadTrainer(from: stoppedDirectory, corpus: corpus, expectedConfiguration: configuration)
        #expect(resumed.step == stopAt)
        try resumed.run(corpus: corpus, directory: stoppedDirectory)
        #expect(resumed.step == options.steps)
        #expect(resumed.dataGenerator == straight.dataGenerator, "data generator state differs after resume at \(stopAt)")
        #expect(firstBitDifference(stateTensors(straight), stateTensors(resumed)) == nil,
                "resume at step \(stopAt) differs from the uninterrupted run")
        // And the final checkpoints on disk agree too.
        let a = try TinyLLMCheckpoint.loadTrainer(from: straightDirectory, corpus: corpus)
        let b = try TinyLLMCheckpoint.loadTrainer(from: stoppedDirectory, corpus: corpus)
        #expect(firstBitDifference(stateTensors(a), stateTensors(b)) == nil, "saved final states differ (stop at \(stopAt))")
    }

    @Test func runReportsEvaluationsAndCheckpoints() throws {
        let corpus = makeTestCorpus()
        var options = testOptions(steps: 10)
        options.evaluationInterval = 4
        options.checkpointInterval = 5
        let directory = temporaryDirectory("events")
        defer { try? FileManager.default.removeItem(at: directory) }
        var trainer = TinyLLMTrainer(configuration: .tiny, options: options)
        var evaluations: [Int] = [], checkpoints: [Int] = [], steps = 0
        try trainer.run(corpus: corpus, directory: directory, report: { event in
            switch event {
            case .step(_, _, let tokensPerSecond, _): steps += 1; #expect(tokensPerSecond > 0)
            case .evaluation(let step, let loss): evaluations.append(step); #expect(loss.isFinite && loss > 0)
            case .checkpoint(let step, _): checkpoints.append(step)
            case .interrupted: Issue.record("not interrupted")
            }
        })
        #expect(steps == 10 && evaluations == [4, 8, 10] && checkpoints == [5, 10], "evaluations \(evaluations), checkpoints \(checkpoints)")
        for name in [TinyLLMCheckpoint.checkpointFileName, TinyLLMCheckpoint.modelFileName] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), "\(name) written")
        }
    }

    @Test func tapeLossMatchesEvaluationLoss() throws {
        var generator = SeededGenerator(seed: 3)
        for configuration in [TinyLLMConfiguration.tiny,
                              TinyLLMConfiguration(layers: 2, heads: 4, keyValueHeads: 2, width: 32, contextLength: 16, positions: .rotary)] {
            let model = TinyLLMModel(configuration: configuration, generator: &generator)
            let corpus = makeTestCorpus(repeats: 5)
            let (inputs, targets) = corpus.batch(.training, batchSize: 3, length: 13, generator: &generator)
            let tape = Tape(training: false)
            let taped = Double(model.loss(inputs: inputs, targets: targets, on: tape).value.scalars[0])
            let plain = model.evaluationLoss(inputs: inputs, targets: targets)
            #expect(abs(taped - plain) < 1e-5, "\(configuration.summary): tape loss \(taped) vs evaluation loss \(plain)")
        }
        // The trained bundled model: the training path (tape, training.c's rows and GELU) and
        // the inference path (Tensor ops, the same ak_math.h formulas) give the same loss.
        let trained = try TinyLLMCheckpoint.loadBundledModel()
        let corpus = makeTestCorpus(repeats: 20)
        let (inputs, targets) = corpus.batch(.training, batchSize: 4, length: trained.configuration.contextLength, generator: &generator)
        let taped = Double(trained.loss(inputs: inputs, targets: targets, on: Tape(training: false)).value.scalars[0])
        let plain = trained.evaluationLoss(inputs: inputs, targets: targets)
        #expect(abs(taped - plain) < 1e-5, "bundled model: tape loss \(taped) vs evaluation loss \(plain)")
    }
}
