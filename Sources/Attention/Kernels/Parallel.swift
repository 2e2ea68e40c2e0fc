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
        DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
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
