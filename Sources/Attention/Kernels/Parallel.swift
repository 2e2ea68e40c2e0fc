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

    /// The threads a kernel called from this thread may split its work across right now:
    /// 1 inside ``serially(_:)``, else ``threadCount``.
    public static var available: Int { ak_serial_active() != 0 ? 1 : threadCount }

    /// Runs `body` with every kernel it calls on the calling thread alone: no product, norm or
    /// attention inside splits across the worker pool, whatever its size.
    ///
    /// This is how to run data parallelism over threads: start one job per share of a batch
    /// (for example with `DispatchQueue.concurrentPerform`), and inside each, compute that
    /// share's forward and backward pass in `serially`. Every thread then works through its own
    /// sequence of operations with no hand-off at all, instead of every operation being split
    /// between threads and joined, which for small operations (a `baby` TinyLLM step has hundreds,
    /// most under 100 µs) costs more than the work it spreads. Results are the same bits as
    /// outside `serially`: the kernels' summation order never depends on the thread count.
    /// Nests; applies to the calling thread only.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        ak_serial_enter()
        defer { ak_serial_leave() }
        return try body()
    }
}

/// Runs `body(i)` for every `i` in `0..<count`, spread over `Threading.threadCount` threads.
/// Work items must be independent; each runs exactly once. Serial when `count == 1`, with one
/// thread, or inside `Threading.serially`.
package func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || Threading.available == 1 {
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
/// 1… the workers) takes item `p` first when it gets there in time, so a thread's block of C, and
/// the weight behind it, stays in its core's L2 across calls; the items beyond are then taken in
/// order by whoever is free, which balances uneven work as Dispatch would.
///
/// **No one waits for a thread that is not running.** A participant that finds no shared item
/// left takes any reserved item `q` that its participant has not claimed yet (one atomic
/// exchange per item decides), and the caller waits only for items in progress, never for a
/// worker to wake up. A worker joins a job only while it is open (checked under the lock) and the
/// caller, having closed it, waits only for the workers that joined. Waits spin briefly and then
/// yield the core (`sched_yield`): on a machine busier than its cores, the thread being waited
/// for has usually been preempted, and spinning on would only keep it off the core. (The first
/// version reserved item `p` for participant `p` outright and spun until every worker had
/// checked in: with one core taken by another process, `baby` training fell from ~21 k to ~5.6 k
/// tokens/s, over half of its samples spinning.)
///
/// Workers spin for a few hundred microseconds after a job before they sleep, yielding the core
/// every 64 spins, so the many small products of a training step do not each pay a wake-up. One job at a time: a call that finds
/// the pool busy (nested inside an item, or from another thread) returns false and the caller
/// uses Dispatch. The caller returns only after every worker that joined has left the job, so
/// no item runs, and no reference to the body is left, after `parallelFor` returns.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Threading.threadCount - 1)

    /// Spins (PAUSE instructions) a worker makes before it sleeps (measured ~350 µs on a Xeon of
    /// 2026, ~450 µs with the yields between them), and a waiting caller makes before it starts
    /// yielding its core.
    private static let spinLimit = 20_000

    private let condition = NSCondition()
    private let workers: Int
    /// Shared counters (atomics): [0] job generation, [1] next shared item, [2] workers inside
    /// the job (holding its body), [3] items finished, [4 + p] item `p` claimed (p ≤ workers).
    private let counters: UnsafeMutablePointer<Int>
    /// Guarded by `condition`: a job is running (until every joined worker has left), it still
    /// admits workers, its body and item count.
    private var busy = false
    private var open = false
    private var body: UncheckedSendableBox<(Int) -> Void>?
    private var count = 0

    init(workers: Int) {
        self.workers = max(0, workers)
        counters = .allocate(capacity: 5 + self.workers)
        counters.initialize(repeating: 0, count: 5 + self.workers)
        for worker in 0..<self.workers {
            let thread = Thread { [unowned self] in self.workerLoop(participant: worker + 1) }
            thread.name = "attend-worker-\(worker + 1)"
            thread.start()
        }
    }

    private var generation: UnsafeMutablePointer<Int> { counters }
    private var nextShared: UnsafeMutablePointer<Int> { counters + 1 }
    private var inside: UnsafeMutablePointer<Int> { counters + 2 }
    private var finished: UnsafeMutablePointer<Int> { counters + 3 }
    private func claimed(_ participant: Int) -> UnsafeMutablePointer<Int> { counters + 4 + participant }

    /// Runs `body(i)` for `i` in `0..<count` on the caller and the workers; false (nothing run)
    /// when the pool is busy or has no workers.
    func run(_ count: Int, _ body: UncheckedSendableBox<(Int) -> Void>) -> Bool {
        condition.lock()
        guard workers > 0, !busy else {
            condition.unlock()
            return false
        }
        busy = true
        open = true
        self.body = body
        self.count = count
        ak_atomic_store(nextShared, workers + 1)
        ak_atomic_store(finished, 0)
        for p in 0...workers { ak_atomic_store(claimed(p), 0) }
        ak_atomic_fetch_add(generation, 1)   // spinning workers see this at once
        condition.broadcast()                // sleeping ones are woken
        condition.unlock()
        participate(0, body: body, count: count)
        Self.wait { ak_atomic_load(self.finished) >= count }
        condition.lock()
        open = false
        self.body = nil
        condition.unlock()
        Self.wait { ak_atomic_load(self.inside) == 0 }
        condition.lock()
        busy = false
        condition.unlock()
        return true
    }

    /// Spins until `done()`, then yields the core between checks.
    private static func wait(until done: () -> Bool) {
        var spins = 0
        while !done() {
            if spins < spinLimit {
                ak_spin_pause()
                spins += 1
            } else {
                ak_thread_yield()
            }
        }
    }

    /// Item `participant` first unless someone took it (its own block, for cache affinity), then
    /// shared items in order, then any reserved item not yet claimed. Every item is run by the
    /// one participant whose claim (exchange or counter) succeeded.
    private func participate(_ participant: Int, body: UncheckedSendableBox<(Int) -> Void>, count: Int) {
        func runItem(_ item: Int) {
            body.value(item)
            ak_atomic_fetch_add(finished, 1)
        }
        if participant < count, ak_atomic_exchange(claimed(participant), 1) == 0 { runItem(participant) }
        while true {
            let item = ak_atomic_fetch_add(nextShared, 1)
            guard item < count else { break }
            runItem(item)
        }
        for q in 0...workers where q < count {
            if ak_atomic_load(claimed(q)) == 0, ak_atomic_exchange(claimed(q), 1) == 0 { runItem(q) }
        }
    }

    /// A worker's share of the current job, if it is still open; its references to the job end
    /// when this returns. True when it joined (the caller then leaves the job: `inside`).
    private func workShare(participant: Int) -> Bool {
        condition.lock()
        let body = open ? self.body : nil, count = self.count
        if body != nil { ak_atomic_fetch_add(inside, 1) }
        condition.unlock()
        guard let body else { return false }
        participate(participant, body: body, count: count)
        return true
    }

    private func workerLoop(participant: Int) {
        var seen = 0
        while true {
            var spins = 0
            while ak_atomic_load(generation) == seen && spins < Self.spinLimit {
                ak_spin_pause()
                spins += 1
                // A yield now and then (~0.3 µs when nothing else wants the core) hands the core
                // to another runnable thread when there is one, instead of spinning it away.
                if spins % 64 == 0 { ak_thread_yield() }
            }
            condition.lock()
            while ak_atomic_load(generation) == seen { condition.wait() }
            seen = ak_atomic_load(generation)
            condition.unlock()
            if workShare(participant: participant) { ak_atomic_fetch_add(inside, -1) }
        }
    }
}

/// Runs `body(0) … body(count − 1)` side by side, one work item per part, each with every
/// kernel inside serial (`Threading.serially`): independent parts of a batch (training shards,
/// encoder sequences, evaluation windows) each on a thread of their own, with no hand-off
/// between threads inside a part. A single part runs on the calling thread with its kernels
/// split across the threads as usual.
package func parallelParts(_ count: Int, _ body: (Int) -> Void) {
    if count == 1 { body(0); return }
    parallelFor(count) { part in Threading.serially { body(part) } }
}

/// `[body(0), …, body(count − 1)]`, the parts computed side by side as in ``parallelParts(_:_:)``
/// (each serial inside) and returned in part order, so a caller that then combines them in
/// order gets the bits of computing them one after another.
package func parallelPartsMap<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
    var results = [T?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { slots in
        guard let base = slots.baseAddress else { return }
        let out = UncheckedSendableBox(base)
        parallelParts(count) { part in out.value[part] = body(part) }
    }
    return results.map { checkNotNil($0, "parallelPartsMap: a part left no result") }
}

/// Carries a value across a concurrency boundary the compiler cannot verify.
package struct UncheckedSendableBox<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// Splits `0..<count` into at most `Threading.available` contiguous chunks and runs them in parallel.
package func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let chunks = max(1, min(Threading.available, count / max(1, minimumChunk)))
    if chunks == 1 { body(0..<count); return }
    parallelFor(chunks) { c in
        let lo = count * c / chunks, hi = count * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}
