import Attention
import CKernels

// How the row kernels split work: contiguous blocks of whole rows, one per thread. Each row is
// written by exactly one thread and each row's arithmetic does not depend on the split, so
// results are the same for every thread count.

/// Runs `body(row)` for every row, split into contiguous chunks across threads.
@inline(__always)
func rowParallel(rows: Int, minimumRows: Int = 16, _ body: (Int) -> Void) {
    parallelChunks(rows, minimumChunk: minimumRows) { range in for r in range { body(r) } }
}

/// Runs `body(range)` over contiguous blocks of rows of `width` elements, at least ~8K
/// elements per block (smaller work is not worth waking a thread for).
@inline(__always)
func rowRanges(rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(rows, minimumChunk: Swift.max(1, 8192 / Swift.max(width, 1)), body)
}

/// Calls `body` with the tensor's base address, or nil when there is no tensor.
@inline(__always)
func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Calls `body` with the array's base address, or nil when there is no array.
@inline(__always)
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// `out[j] (+)= Σ_r g[r, j]` for `g` `[rows, width]`, split by columns across threads (each
/// column summed by one thread, rows in order: the same result for any thread count).
func columnSums(_ g: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let minimumColumns = Swift.max(16, 32768 / Swift.max(rows, 1))
    parallelChunks(width, minimumChunk: minimumColumns) { range in
        ak_train_column_sums(g + range.lowerBound, rows, range.count, width, out + range.lowerBound, accumulate ? 1 : 0)
    }
}
