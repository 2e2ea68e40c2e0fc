import Attention
import Foundation
import Testing
import TinyLLM
import Training

/// N ranks in one process, one thread each: a ``Communicator`` whose collectives meet at a
/// condition variable. The last rank to arrive sums the buffers in rank order.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var floats: [[Float]]
    private var words: [UInt64]
    private var arrived = 0
    private var generation = 0
    private var reduced: [Float] = []
    private var gathered: [UInt64] = []
    private var broken = false

    struct Abandoned: Error {}

    /// Wakes every waiting rank with an error (a rank left the group).
    func abandon() { condition.lock(); broken = true; condition.broadcast(); condition.unlock() }

    init(size: Int) {
        self.size = size
        floats = Array(repeating: [], count: size)
        words = Array(repeating: 0, count: size)
    }

    final class Member: Communicator, @unchecked Sendable {
        let group: ThreadGroup
        let rank: Int
        var size: Int { group.size }
        init(group: ThreadGroup, rank: Int) { self.group = group; self.rank = rank }

        func allReduceSum(_ values: inout [Float]) throws {
            values = try group.meet(rank: rank, floats: values, word: 0).floats
        }

        func allGather(_ value: UInt64) throws -> [UInt64] {
            try group.meet(rank: rank, floats: [], word: value).words
        }
    }

    func member(_ rank: Int) -> Member { Member(group: self, rank: rank) }

    private func meet(rank: Int, floats input: [Float], word: UInt64) throws -> (floats: [Float], words: [UInt64]) {
        condition.lock()
        defer { condition.unlock() }
        if broken { throw Abandoned() }
        floats[rank] = input
        words[rank] = word
        arrived += 1
        let myGeneration = generation
        if arrived == size {
            var sum = floats[0]
            for r in 1..<size { for i in sum.indices { sum[i] += floats[r][i] } }
            reduced = sum
            gathered = words   // a snapshot: a fast rank may write `words` for the next call
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == myGeneration && !broken { condition.wait() }
            if generation == myGeneration { throw Abandoned() }   // broken before this call completed
        }
        return (reduced, gathered)
    }
}

/// A member of a ``ThreadGroup`` that records the length of every all-reduce it takes part
/// in (the gradient buckets, in the order they were started).
final class RecordingMember: Communicator, @unchecked Sendable {
    let inner: ThreadGroup.Member
    private(set) var lengths: [Int] = []
    var rank: Int { inner.rank }
    var size: Int { inner.size }
    init(_ inner: ThreadGroup.Member) { self.inner = inner }

    func allReduceSum(_ values: inout [Float]) throws {
        lengths.append(values.count)
        try inner.allReduceSum(&values)
    }

    func allGather(_ value: UInt64) throws -> [UInt64] { try inner.allGather(value) }
}

/// What one thread of ``onThreads(_:_:)`` returned.
final class ThreadResult<T>: @unchecked Sendable { var value: T? }

/// Runs `body(rank, member)` on `ranks` threads of one ``ThreadGroup`` and returns each
/// thread's result, by rank.
func onThreads<T>(_ ranks: Int, _ body: @escaping @Sendable (Int, RecordingMember) -> T) -> [T] {
    let group = ThreadGroup(size: ranks)
    let slots = (0..<ranks).map { _ in ThreadResult<T>() }
    let done = DispatchGroup()
    for rank in 0..<ranks {
        done.enter()
        let thread = Thread {
            slots[rank].value = body(rank, RecordingMember(group.member(rank)))
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return slots.map { $0.value! }
}

/// Trains `ranks` copies of `start` together, one thread per rank; returns every rank's
/// final state, its step results and the lengths of the all-reduces it took part in.
func trainInParallel(_ start: TinyLLMTrainer, ranks: Int, corpus: ByteCorpus, digestInterval: Int = 50,
                     bucketBytes: Int = GradientBucketPlan.defaultBucketBytes,
                     tamper: (@Sendable (Int, inout TinyLLMTrainer) -> Void)? = nil)
    -> [(trainer: TinyLLMTrainer, losses: [Float], results: [TinyLLMTrainer.StepResult], error: Error?, reductions: [Int])] {
    let group = ThreadGroup(size: ranks)
    final class Slot: @unchecked Sendable {
        var value: (trainer: TinyLLMTrainer, losses: [Float], results: [TinyLLMTrainer.StepResult], error: Error?, reductions: [Int])?
    }
    let slots = (0..<ranks).map { _ in Slot() }
    let done = DispatchGroup()
    for rank in 0..<ranks {
        done.enter()
        let thread = Thread {
            var trainer = start
            tamper?(rank, &trainer)
            var results: [TinyLLMTrainer.StepResult] = []
            var failure: Error?
            let member = RecordingMember(group.member(rank))
            do {
                try trainer.run(corpus: corpus, directory: nil, group: member, digestInterval: digestInterval,
                                bucketBytes: bucketBytes, report: { event in
                    if case .step(_, let result, _, _) = event { results.append(result) }
                })
            } catch { failure = error; group.abandon() }
            slots[rank].value = (trainer, results.map(\.loss), results, failure, member.lengths)
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return slots.map { $0.value! }
}

@Suite struct DataParallelTests {
    @Test func rowsSplitTheBatchInRankOrder() {
        #expect(DataParallel.rows(rank: 0, size: 1, batchSize: 12) == 0..<12)
        #expect((0..<3).map { DataParallel.rows(rank: $0, size: 3, batchSize: 10) } == [0..<3, 3..<6, 6..<10])
        #expect((0..<4).map { DataParallel.rows(rank: $0, size: 4, batchSize: 8).count } == [2, 2, 2, 2])
        for size in 1...7 {
            for batch in 0...20 {
                let slices = (0..<size).map { DataParallel.rows(rank: $0, size: size, batchSize: batch) }
                #expect(slices.first!.lowerBound == 0 && slices.last!.upperBound == batch)
                #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect(slices.map(\.count).max()! - slices.map(\.count).min()! <= 1)
            }
        }
    }

    @Test func rowsOfABatchAreTheSlicesOfTheWholeBatch() {
        let corpus = makeTestCorpus()
        var g1 = SeededGenerator(seed: 3), g2 = SeededGenerator(seed: 3)
        let whole = corpus.batch(.training, batchSize: 7, length: 16, generator: &g1)
        let part = corpus.batch(.training, batchSize: 7, length: 16, rows: 2..<5, generator: &g2)
        #expect(part.inputs == Array(whole.inputs[2..<5]) && part.targets == Array(whole.targets[2..<5]))
        #expect(g1.state == g2.state)   // the generator advances by the whole batch either way
    }

    /// N ranks with per-rank batch b (and uneven splits) follow the one-process trajectory
    /// with batch N·b: losses and weights equal to 1e-5 relative over 50 steps.
    /// (3 ranks also with 8 KiB buckets: the tiny model's gradients in 16 all-reduces.)
    @Test(arguments: [(ranks: 2, batch: 4, bucketBytes: GradientBucketPlan.defaultBucketBytes),
                      (ranks: 3, batch: 7, bucketBytes: GradientBucketPlan.defaultBucketBytes),
                      (ranks: 4, batch: 8, bucketBytes: GradientBucketPlan.defaultBucketBytes),
                      (ranks: 3, batch: 7, bucketBytes: 8 << 10)])
    func ranksFollowTheOneProcessTrajectory(ranks: Int, batch: Int, bucketBytes: Int) throws {
        let corpus = makeTestCorpus()
        var options = testOptions(steps: 50)
        options.batchSize = batch
        options.learningRate = 1e-3          // the CLI's default peak rate
        options.minimumLearningRate = 1e-4
        let start = TinyLLMTrainer(configuration: .tiny, options: options)
        var single = start
        var singleLosses: [Float] = []
        try single.run(corpus: corpus, directory: nil, report: { event in
            if case .step(_, let result, _, _) = event { singleLosses.append(result.loss) }
        })
        let results = trainInParallel(start, ranks: ranks, corpus: corpus, bucketBytes: bucketBytes)
        for result in results { #expect(result.error == nil, "\(String(describing: result.error))") }
        let leader = results[0]
        #expect(leader.losses.count == 50)
        #expect(results.dropFirst().allSatisfy { $0.losses.isEmpty })   // only rank 0 reports
        for (a, b) in zip(singleLosses, leader.losses) {
            #expect(abs(a - b) <= 1e-5 * abs(a), "loss \(a) vs \(b)")
        }
        // Every rank holds bit-identical weights and optimizer state.
        for other in results.dropFirst() {
            #expect(firstBitDifference(stateTensors(leader.trainer), stateTensors(other.trainer)) == nil)
        }
        let reference = single.model.namedParameters, parallel = leader.trainer.model.namedParameters
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(reference, parallel) {
            #expect(x.name == y.name)
            for (a, b) in zip(x.tensor.scalars, y.tensor.scalars) {
                difference += Double(a - b) * Double(a - b); norm += Double(a) * Double(a)
            }
        }
        #expect((difference / norm).squareRoot() <= 1e-5, "relative weight difference \((difference / norm).squareRoot())")
        #expect(leader.trainer.step == 50 && leader.trainer.dataGenerator.state == single.dataGenerator.state)
    }

    @Test func divergedWeightsAreReported() {
        let corpus = makeTestCorpus()
        let start = TinyLLMTrainer(configuration: .tiny, options: testOptions(steps: 5))
        let results = trainInParallel(start, ranks: 2, corpus: corpus) { rank, trainer in
            guard rank == 1 else { return }
            var other = testOptions(steps: 5)
            other.seed = 99   // different initial weights on rank 1
            trainer = TinyLLMTrainer(configuration: .tiny, options: other)
        }
        for result in results {
            guard case .weightsDiverged(let step, let digests)? = result.error as? CommunicationError else {
                Issue.record("expected weightsDiverged, got \(String(describing: result.error))"); continue
            }
            #expect(step == 0 && digests.count == 2 && digests[0] != digests[1])
            #expect("\(result.error!)".contains("differ after step 0"))
        }
    }

    @Test func aStopOnOneRankStopsEveryRankAfterTheSameStep() throws {
        let corpus = makeTestCorpus()
        let start = TinyLLMTrainer(configuration: .tiny, options: testOptions(steps: 20))
        let group = ThreadGroup(size: 2)
        final class Box: @unchecked Sendable { var steps = [0, 0] }
        let box = Box()
        let done = DispatchGroup()
        for rank in 0..<2 {
            done.enter()
            Thread {
                var trainer = start
                var calls = 0
                // Rank 1 asks to stop before its 4th step; rank 0 never does.
                do {
                    try trainer.run(corpus: corpus, directory: nil, group: group.member(rank), shouldStop: {
                        calls += 1
                        return rank == 1 && calls >= 4
                    })
                } catch { group.abandon() }
                box.steps[rank] = trainer.step
                done.leave()
            }.start()
        }
        done.wait()
        #expect(box.steps == [4, 4])
    }

    // MARK: Gradient buckets (overlap of the all-reduce with the backward pass)

    @Test(arguments: [0, 8 << 10, GradientBucketPlan.defaultBucketBytes])
    func theBucketPlanCoversEveryParameterOnceLastLayersFirst(bucketBytes: Int) {
        for configuration in [TinyLLMConfiguration.tiny, .baby, .default] {
            var generator = SeededGenerator(seed: 1)
            let parameters = TinyLLMModel(configuration: configuration, generator: &generator).namedParameters
                .map { (name: $0.name, count: $0.tensor.count) }
            let plan = GradientBucketPlan(parameters: parameters, bucketBytes: bucketBytes)
            #expect(plan == GradientBucketPlan(parameters: parameters, bucketBytes: bucketBytes))   // no hidden state
            let slices = plan.buckets.flatMap(\.slices)
            #expect(slices.map(\.name) == parameters.reversed().map(\.name))
            #expect(slices.map(\.count) == parameters.reversed().map(\.count))
            #expect(plan.count == parameters.reduce(0) { $0 + $1.count })
            for bucket in plan.buckets {
                #expect(bucket.slices.map(\.offset) == bucket.slices.indices.map { i in bucket.slices[..<i].reduce(0) { $0 + $1.count } })
                #expect(bucket.count == bucket.slices.reduce(0) { $0 + $1.count })
                if bucketBytes > 0 && bucket.slices.count > 1 { #expect(bucket.count * 4 <= bucketBytes) }
            }
            if bucketBytes == 0 { #expect(plan.buckets.count == 1) }
        }
        if bucketBytes == GradientBucketPlan.defaultBucketBytes {
            var generator = SeededGenerator(seed: 1)
            let baby = TinyLLMModel(configuration: .baby, generator: &generator).namedParameters.map { (name: $0.name, count: $0.tensor.count) }
            #expect(GradientBucketPlan(parameters: baby, bucketBytes: bucketBytes).buckets.count >= 3)
        }
    }

    /// Ranks that finish their gradients in different orders still start the same buckets in
    /// the same order, and every element's sum is the one a single all-reduce of everything
    /// gives, bit for bit.
    @Test func bucketedReductionEqualsOneAllReduceWhateverTheOrderOfGradients() {
        let parameters = [("a", 700), ("b", 3), ("c", 2500), ("d", 1), ("e", 64), ("f", 1200), ("g", 0), ("h", 333)]
            .map { (name: $0.0, count: $0.1) }
        let plan = GradientBucketPlan(parameters: parameters, bucketBytes: 4 << 10)   // 1024 floats
        // Reverse order; a bucket closes before the parameter that would overflow it.
        #expect(plan.buckets.map { $0.slices.map(\.name) } == [["h", "g"], ["f"], ["e", "d"], ["c"], ["b", "a"]])
        let ranks = 3
        @Sendable func gradients(rank: Int) -> [(name: String, tensor: Tensor)] {
            var generator = SeededGenerator(seed: UInt64(10 + rank))
            return parameters.map { ($0.name, Tensor.randomNormal([$0.count], standardDeviation: 1, generator: &generator)) }
        }
        let weights: [Float] = [0.25, 0.5, 0.25]
        let outcomes = onThreads(ranks) { rank, member in
            let reduction = GradientReduction(plan: plan, group: member, weight: weights[rank], controlCount: 2)
            var order = Array(gradients(rank: rank).enumerated())
            var generator = SeededGenerator(seed: UInt64(rank))
            order.shuffle(using: &generator)                    // a different order on every rank
            for (_, (name, tensor)) in order {
                reduction.gradientReady(name, tensor)
                reduction.progress()
            }
            let control = try! reduction.finish(control: [Float(rank), 1])
            var local = Gradients(gradients(rank: rank))
            reduction.copySums(into: &local)
            // The same weighted gradients in one all-reduce, in checkpoint order.
            var whole = gradients(rank: rank).flatMap { $0.tensor.scalars.map { $0 * weights[rank] } }
            try! member.inner.allReduceSum(&whole)
            return (control: control, sums: local, whole: whole, lengths: member.lengths, timing: (reduction.waitSeconds, reduction.callSeconds))
        }
        var offset = 0
        for (name, count) in parameters {
            for outcome in outcomes {
                let sum = outcome.sums[name]!.scalars
                #expect(sum.map(\.bitPattern) == outcome.whole[offset ..< offset + count].map(\.bitPattern), "\(name)")
            }
            offset += count
        }
        for outcome in outcomes {
            #expect(outcome.control == [0 + 1 + 2, 3])
            #expect(outcome.lengths == [333, 1200, 65, 2500, 703 + 2])   // the last bucket carries the control values
            #expect(outcome.timing.1 >= outcome.timing.0 && outcome.timing.0 >= 0)
        }
    }

    /// Training with 8 KiB buckets: every rank starts the planned buckets in order every step
    /// and the run is bit-identical to summing everything in one all-reduce after backward.
    @Test func bucketedTrainingIsBitIdenticalToOneAllReducePerStep() throws {
        let corpus = makeTestCorpus()
        var options = testOptions(steps: 12)
        options.batchSize = 7
        let start = TinyLLMTrainer(configuration: .tiny, options: options)
        let parameters = start.model.namedParameters.map { (name: $0.name, count: $0.tensor.count) }
        let plan = GradientBucketPlan(parameters: parameters, bucketBytes: 8 << 10)
        #expect(plan.buckets.count > 10)
        let bucketed = trainInParallel(start, ranks: 3, corpus: corpus, digestInterval: 0, bucketBytes: 8 << 10)
        let oneCall = trainInParallel(start, ranks: 3, corpus: corpus, digestInterval: 0, bucketBytes: 0)
        var perStep = plan.buckets.map(\.count)
        perStep[perStep.count - 1] += 3                                  // loss, failed ranks, stop requests
        for (a, b) in zip(bucketed, oneCall) {
            #expect(a.error == nil && b.error == nil)
            #expect(a.reductions == Array(Array(repeating: perStep, count: 12).joined()))
            #expect(b.reductions == Array(repeating: plan.count + 3, count: 12))
            #expect(firstBitDifference(stateTensors(a.trainer), stateTensors(b.trainer)) == nil)
        }
        #expect(bucketed[0].losses.map(\.bitPattern) == oneCall[0].losses.map(\.bitPattern))
        for result in bucketed[0].results {
            #expect(result.communicationTotalSeconds >= result.communicationSeconds && result.communicationSeconds >= 0)
        }
    }

    /// A rank whose step fails (here rank 0: no row of a batch of 1) still takes part in every
    /// bucket's all-reduce, so no rank hangs and every rank learns of the failure.
    @Test func aRankWhoseStepFailsStillJoinsEveryBucket() {
        let corpus = makeTestCorpus()
        var options = testOptions(steps: 3)
        options.batchSize = 1
        let start = TinyLLMTrainer(configuration: .tiny, options: options)
        let outcomes = onThreads(2) { rank, member in
            var trainer = start
            let error: Error?
            do { try trainer.trainStep(corpus: corpus, group: member, bucketBytes: 8 << 10); error = nil } catch let e { error = e }
            return (error: error, lengths: member.lengths)
        }
        #expect(outcomes[0].lengths == outcomes[1].lengths && outcomes[0].lengths.count > 10)
        guard case .peerFailed(let own, _)? = outcomes[0].error as? CommunicationError, own == [0] else {
            Issue.record("rank 0: expected its own peerFailed, got \(String(describing: outcomes[0].error))"); return
        }
        guard case .peerFailed(let others, _)? = outcomes[1].error as? CommunicationError, others.isEmpty else {
            Issue.record("rank 1: expected peerFailed, got \(String(describing: outcomes[1].error))"); return
        }
    }
}
