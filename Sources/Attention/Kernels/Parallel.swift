import CKernels
import Dispatch
import Foundation

/// How many threads the kernels use: `ATTEND_THREADS` when set, else the active processor count.
public enum Threading {
    /// The number of worker threads the kernels split work across.
    public static let threadCount: Int = {
        if let text = ProcessInfo.processInfo.environment["ATTEND_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
}

/// Runs `body(i)` for every `i` in `0..<count`, spread over `Threading.threadCount` threads.
/// Work items must be independent; each runs exactly once. Serial when `count == 1` or one thread.
package func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || Threading.threadCount == 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // Kernels hand raw pointers to disjoint regions to each work item; the caller
        // guarantees items do not race, which is what makes this unchecked box sound.
        let box = UncheckedSendableBox(body)
        if WorkerPool.shared.run(count, box) { return }
        // The pool is busy (a nested call, or another thread's product): Dispatch instead.
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
    }
}

/// `Threading.threadCount − 1` worker threads that live as long as the process, and the
/// calling thread, running the items of one `parallelFor` at a time.
///
/// Why not only Dispatch: which thread runs which item of `concurrentPerform` changes from call
/// to call, so a product repeated with the same weight (every layer of every decoded token)
/// finds its block of the weight in another core's cache. Here participant `p` (0 = the caller,
/// 1… the workers) always takes item `p` first, so a thread's block of C, and the weight behind
/// it, stays in its core's L2 across calls; the items beyond are then taken in order by whoever
/// is free, which balances uneven work as Dispatch would.
///
/// Workers spin for a few microseconds after a job before they sleep, so the many small
/// products of a training step do not each pay a wake-up. One job at a time: a call that finds
/// the pool busy (nested inside an item, or from another thread) returns false and the caller
/// uses Dispatch. The caller returns only after every worker has left the job, so no item runs
/// after `parallelFor` returns.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Threading.threadCount - 1)

    /// Spins (PAUSE instructions) a worker makes before it sleeps: ~20–50 µs.
    private static let spinLimit = 20_000

    private let condition = NSCondition()
    private let workers: Int
    /// Shared counters (atomics): [0] job generation, [1] next shared item, [2] participants
    /// still inside the job.
    private let counters: UnsafeMutablePointer<Int>
    /// Guarded by `condition`: a job is running; its body and item count.
    private var busy = false
    private var body: UncheckedSendableBox<(Int) -> Void>?
    private var count = 0

    init(workers: Int) {
        self.workers = max(0, workers)
        counters = .allocate(capacity: 3)
        counters.initialize(repeating: 0, count: 3)
        for worker in 0..<self.workers {
            let thread = Thread { [unowned self] in self.workerLoop(participant: worker + 1) }
            thread.name = "attend-worker-\(worker + 1)"
            thread.start()
        }
    }

    private var generation: UnsafeMutablePointer<Int> { counters }
    private var nextShared: UnsafeMutablePointer<Int> { counters + 1 }
    private var inside: UnsafeMutablePointer<Int> { counters + 2 }

    /// Runs `body(i)` for `i` in `0..<count` on the caller and the workers; false (nothing run)
    /// when the pool is busy or has no workers.
    func run(_ count: Int, _ body: UncheckedSendableBox<(Int) -> Void>) -> Bool {
        condition.lock()
        guard workers > 0, !busy else {
            condition.unlock()
            return false
        }
        busy = true
        self.body = body
        self.count = count
        ak_atomic_store(nextShared, workers + 1)
        ak_atomic_store(inside, workers + 1)
        ak_atomic_fetch_add(generation, 1)   // spinning workers see this at once
        condition.broadcast()                // sleeping ones are woken
        condition.unlock()
        participate(0, body: body, count: count)
        ak_atomic_fetch_add(inside, -1)
        while ak_atomic_load(inside) > 0 { ak_spin_pause() }
        condition.lock()
        self.body = nil
        busy = false
        condition.unlock()
        return true
    }

    /// Item `participant` first (its own block, for cache affinity), then shared items in order.
    /// The caller of this marks the participant as out of the job (`inside`) only after its
    /// reference to `body` is gone: `withoutActuallyEscaping` checks that none is left.
    private func participate(_ participant: Int, body: UncheckedSendableBox<(Int) -> Void>, count: Int) {
        if participant < count { body.value(participant) }
        while true {
            let item = ak_atomic_fetch_add(nextShared, 1)
            guard item < count else { break }
            body.value(item)
        }
    }

    /// A worker's share of the current job; its references to the job end when this returns.
    private func workShare(participant: Int) {
        condition.lock()
        let body = self.body, count = self.count
        condition.unlock()
        if let body { participate(participant, body: body, count: count) }
    }

    private func workerLoop(participant: Int) {
        var seen = 0
        while true {
            var spins = 0
            while ak_atomic_load(generation) == seen && spins < Self.spinLimit {
                ak_spin_pause()
                spins += 1
            }
            condition.lock()
            while ak_atomic_load(generation) == seen { condition.wait() }
            seen = ak_atomic_load(generation)
            condition.unlock()
            workShare(participant: participant)
            ak_atomic_fetch_add(inside, -1)
        }
    }
}

/// Carries a value across a concurrency boundary the compiler cannot verify.
package struct UncheckedSendableBox<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// Splits `0..<count` into at most `Threading.threadCount` contiguous chunks and runs them in parallel.
package func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let chunks = max(1, min(Threading.threadCount, count / max(1, minimumChunk)))
    if chunks == 1 { body(0..<count); return }
    parallelFor(chunks) { c in
        let lo = count * c / chunks, hi = count * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}
