import CKernels
import Foundation

/// Packing buffers for one thread's share of a packed GEMM (see `ak_sgemm_packed`).
///
/// The packed-A buffer holds one `MC × KC` block (fixed size); the packed-B buffer one
/// `KC × NC` slice, sized for the widest product seen so far. Both are 64-byte aligned so the
/// micro-kernel's panel loads never straddle cache lines.
final class GemmScratch: @unchecked Sendable {
    let packA: UnsafeMutablePointer<Float>
    private(set) var packB: UnsafeMutablePointer<Float>
    private(set) var packBCapacity: Int

    init(columns: Int) {
        packA = GemmScratch.allocate(Int(ak_sgemm_pack_a_floats()))
        packBCapacity = Int(ak_sgemm_pack_b_floats(columns))
        packB = GemmScratch.allocate(packBCapacity)
    }

    /// Grows the packed-B buffer if a product with `columns` columns needs more room.
    func reserve(columns: Int) {
        let needed = Int(ak_sgemm_pack_b_floats(columns))
        guard needed > packBCapacity else { return }
        packB.deallocate()
        packB = GemmScratch.allocate(needed)
        packBCapacity = needed
    }

    deinit {
        packA.deallocate()
        packB.deallocate()
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }
}

/// A small free list of `GemmScratch`, so repeated products reuse their packing buffers
/// instead of allocating (and page-faulting) megabytes per call.
///
/// A thread takes one scratch for the duration of its share of a product and returns it; the
/// list keeps at most `capacity` of them (a few per worker thread), which bounds the memory
/// the pool holds on to at roughly `capacity × (KC·NC + MC·KC) × 4` bytes (≈ 4.2 MB each).
final class GemmScratchPool: @unchecked Sendable {
    static let shared = GemmScratchPool(capacity: max(4, 2 * Threading.threadCount))

    private let lock = NSLock()
    private var free: [GemmScratch] = []
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Runs `body` with a scratch large enough for a product with `columns` columns.
    func withScratch<R>(columns: Int, _ body: (GemmScratch) -> R) -> R {
        let scratch = take(columns: columns)
        defer { give(scratch) }
        return body(scratch)
    }

    private func take(columns: Int) -> GemmScratch {
        lock.lock()
        let reused = free.popLast()
        lock.unlock()
        guard let reused else { return GemmScratch(columns: columns) }
        reused.reserve(columns: columns)
        return reused
    }

    private func give(_ scratch: GemmScratch) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < capacity { free.append(scratch) }
    }
}
