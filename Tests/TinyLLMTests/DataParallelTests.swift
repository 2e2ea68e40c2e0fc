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

/// Trains `ranks` copies of `start` together, one thread per rank; returns every rank's
/// final state and its step losses.
func trainInParallel(_ start: TinyLLMTrainer, ranks: Int, corpus: ByteCorpus, digestInterval: Int = 50,
                     tamper: (@Sendable (Int, inout TinyLLMTrainer) -> Void)? = nil) -> [(trainer: TinyLLMTrainer, losses: [Float], error: Error?)] {
    let group = ThreadGroup(size: ranks)
    final class Slot: @unchecked Sendable { var value: (trainer: TinyLLMTrainer, losses: [Float], error: Error?)? }
    let slots = (0..<ranks).map { _ in Slot() }
    let done = DispatchGroup()
    for rank in 0..<ranks {
        done.enter()
        let thread = Thread {
            var trainer = start
            tamper?(rank, &trainer)
            var losses: [Float] = []
            var failure: Error?
            do {
                try trainer.run(corpus: corpus, directory: nil, group: group.member(rank), digestInterval: digestInterval, report: { event in
                    if case .step(_, let result, _, _) = event { losses.append(result.loss) }
                })
            } catch { failure = error; group.abandon() }
            slots[rank].value = (trainer, losses, failure)
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
    @Test(arguments: [(ranks: 2, batch: 4), (ranks: 3, batch: 7), (ranks: 4, batch: 8)])
    func ranksFollowTheOneProcessTrajectory(ranks: Int, batch: Int) throws {
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
        let results = trainInParallel(start, ranks: ranks, corpus: corpus)
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
}
