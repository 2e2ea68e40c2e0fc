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
/// This changes a process-wide setting, so a library never does it behind the caller's back:
/// a program that trains (as `attend train` does) opts in by calling
/// ``AllocatorTuning/keepTrainingBuffersInHeap()`` once. glibc only (`ak_train_tune_allocator`);
/// `ATTEND_KEEP_MALLOC=1` vetoes it.
public enum AllocatorTuning {
    /// Raises glibc's mmap and trim thresholds once per process; returns whether they were changed.
    @discardableResult
    public static func keepTrainingBuffersInHeap() -> Bool { applied }

    private static let applied: Bool = {
        if let value = getenv("ATTEND_KEEP_MALLOC"), String(cString: value) != "0", String(cString: value) != "" { return false }
        return ak_train_tune_allocator() != 0
    }()
}
