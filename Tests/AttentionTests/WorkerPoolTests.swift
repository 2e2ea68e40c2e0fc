import Attention
import Dispatch
import Foundation
import Testing

/// `parallelFor` and its persistent `WorkerPool`: every item runs exactly once and has finished
/// when the call returns, whatever the item count (fewer items than participants, exactly as
/// many, many more), when items are slow, when calls nest (the inner call finds the pool busy
/// and uses Dispatch), and when several threads call at once (one gets the pool, the others
/// Dispatch). The kernels' results rest on this: each item writes its own block.
@Suite struct WorkerPoolTests {
    /// Runs `parallelFor(count)` `rounds` times; each item adds 1 to its own slot.
    private static func runCounting(count: Int, rounds: Int, slowItem: Int? = nil) -> [Int] {
        var slots = [Int](repeating: 0, count: count)
        slots.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedSendableBox(buffer.baseAddress!)
            for _ in 0..<rounds {
                parallelFor(count) { item in
                    if item == slowItem { usleep(2_000) }
                    base.value[item] += 1
                }
            }
        }
        return slots
    }

    @Test(arguments: [2, 3, 5, 16, 257, 4096])
    func everyItemRunsExactlyOnce(count: Int) {
        let rounds = count > 1000 ? 20 : 300
        let slots = Self.runCounting(count: count, rounds: rounds)
        #expect(slots.allSatisfy { $0 == rounds }, "items run \(Set(slots)) times, expected \(rounds) each (count \(count))")
    }

    /// A slow item on a worker's reserved slot (item 1) and on the caller's (item 0): the call
    /// still returns only after it, and no item runs twice or is skipped.
    @Test(arguments: [0, 1, 2])
    func aSlowItemIsWaitedForAndRunOnce(slowItem: Int) {
        let slots = Self.runCounting(count: 3, rounds: 20, slowItem: slowItem)
        #expect(slots == [20, 20, 20], "slots \(slots)")
    }

    @Test func nestedCallsRunEveryInnerItemOnce() {
        let outer = 6, inner = 37, rounds = 20
        var slots = [Int](repeating: 0, count: outer * inner)
        slots.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedSendableBox(buffer.baseAddress!)
            for _ in 0..<rounds {
                parallelFor(outer) { o in
                    parallelFor(inner) { i in base.value[o * inner + i] += 1 }
                }
            }
        }
        #expect(slots.allSatisfy { $0 == rounds }, "nested items ran \(Set(slots)) times, expected \(rounds)")
    }

    @Test func concurrentCallersEachGetEveryItemOnce() {
        let callers = 4, count = 29, rounds = 100
        var slots = [Int](repeating: 0, count: callers * count)
        slots.withUnsafeMutableBufferPointer { buffer in
            let base = UncheckedSendableBox(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: callers) { caller in
                for _ in 0..<rounds {
                    parallelFor(count) { item in base.value[caller * count + item] += 1 }
                }
            }
        }
        #expect(slots.allSatisfy { $0 == rounds }, "items ran \(Set(slots)) times across concurrent callers, expected \(rounds)")
    }

    /// After a pause long enough for the workers to fall asleep (they spin ~0.5 ms), the next
    /// call must not wait for them to wake before finishing: the caller takes a reserved item
    /// nobody claimed. With that item slow (2 ms), the woken worker arrives while the job is
    /// still open, and must not run the item the caller already took.
    @Test(arguments: [4, 2])
    func callsAfterTheWorkersSleepStillRunEveryItemOnce(count: Int) {
        for _ in 0..<5 {
            usleep(5_000)
            let slots = Self.runCounting(count: count, rounds: 1, slowItem: count == 2 ? 1 : nil)
            #expect(slots == [Int](repeating: 1, count: count), "slots \(slots)")
        }
    }
}
