import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A training step allocates and frees the same few dozen large buffers (activations and
/// gradients, 0.1–2 MB each) every step. glibc serves blocks above its mmap threshold with
/// fresh `mmap`s and returns freed heap tops to the kernel, so every step page-faults and
/// zero-fills its working set again: measured on the `baby` GPT step, 18% of the CPU time.
/// Raising the mmap threshold to 32 MiB and the trim threshold to 256 MiB keeps those buffers
/// in the heap for reuse (what PyTorch's caching allocator achieves by other means).
///
/// Applied once per process, on the first ``Tape``; glibc only (`ak_train_tune_allocator`).
/// Set `ATTEND_KEEP_MALLOC=1` to leave the allocator untouched.
enum AllocatorTuning {
    static let applied: Bool = {
        if let value = getenv("ATTEND_KEEP_MALLOC"), String(cString: value) != "0", String(cString: value) != "" { return false }
        return ak_train_tune_allocator() != 0
    }()
}
