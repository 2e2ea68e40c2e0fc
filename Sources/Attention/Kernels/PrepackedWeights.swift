import CKernels
import Foundation

/// A layer's weight `W` (`[n, k]`) packed once as the `B = Wᵀ` operand of the FP32 GEMM
/// (`ak_sgemm_prepack_b`), so repeated products `x·Wᵀ` (inference: every token, every batch)
/// pack only their activations. Packing `Wᵀ` transposes the weight, which profiles showed to
/// cost about a tenth of an encoder forward when done on every call.
///
/// The panels are made on first use and kept while the weight is the same tensor (same
/// storage; the cache holds a reference, so any change to the weight copies it first) and the
/// SIMD level is the same; otherwise they are packed again. Shared by copies of a layer;
/// thread-safe. The products are bit-identical to the unpacked-weight path.
package final class PrepackedWeights: @unchecked Sendable {
    private let lock = NSLock()
    private var source: Tensor?
    private var level = SIMDLevel.portable
    private var panels: Panels?

    package init() {}

    /// Packed panels on a 64-byte boundary (the micro-kernels' vector loads then never split a
    /// cache line); written once when packed, read-only after, freed with the last reference.
    package final class Panels: @unchecked Sendable {
        package let base: UnsafeMutablePointer<Float>

        init(count: Int) {
            base = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
                .bindMemory(to: Float.self, capacity: max(1, count))
        }

        deinit { base.deallocate() }
    }

    /// The panels of `weight` for `level` (packed now unless cached for this very tensor).
    package func panels(for weight: Tensor, level: SIMDLevel) -> Panels {
        lock.lock()
        defer { lock.unlock() }
        if let panels, let source, self.level == level, source.sharesStorage(with: weight) { return panels }
        let (n, k) = (weight.shape[0], weight.shape[1])
        let packed = Panels(count: ak_sgemm_prepacked_b_floats(n, k, level.rawValue))
        weight.withUnsafeBufferPointer { w in
            if let w = w.baseAddress { ak_sgemm_prepack_b(n, k, w, k, 1, packed.base, level.rawValue) }
        }
        (source, self.level, panels) = (weight, level, packed)
        return packed
    }
}

extension MatrixMultiply {
    /// `x·Wᵀ` for `x: [m, k]`, `weight: [n, k]`, with `Wᵀ` packed once in `cache` whenever the
    /// automatic choice of ``gemm(m:n:k:a:lda:transposeA:b:ldb:transposeB:c:ldc:accumulate:path:level:threads:)``
    /// would run the packed kernel (same kernel, same panels, so the same bits as
    /// `x.matmul(weight, transposingOther: true)`); other products take that path unchanged.
    /// `level` is the process's SIMD level except in tests, which run every level the machine has.
    package static func productTransposingWeight(
        _ x: Tensor, _ weight: Tensor, cache: PrepackedWeights, threads: Int = Threading.available,
        level: SIMDLevel = .current
    ) -> Tensor {
        let (m, k, n) = (x.shape[0], x.shape[1], weight.shape[0])
        guard m > 0, n > 0, k > 0, automaticPacks(m: m, n: n, k: k) else {
            if level == .current { return x.matmul(weight, transposingOther: true) }
            return Tensor(uninitializedShape: [m, n]) { out in
                guard let c = out.baseAddress else { return }
                x.withUnsafeBufferPointer { xs in
                    weight.withUnsafeBufferPointer { ws in
                        guard let a = xs.baseAddress, let b = ws.baseAddress else { return }
                        gemm(m: m, n: n, k: k, a: a, lda: k, transposeA: false, b: b, ldb: k, transposeB: true,
                             c: c, ldc: n, accumulate: false, path: .automatic, level: level, threads: threads)
                    }
                }
            }
        }
        let panels = cache.panels(for: weight, level: level)
        let split = TileSplit(m: m, n: n, level: level, workers: m * n * k < threadingThreshold ? 1 : max(1, threads))
        return Tensor(uninitializedShape: [m, n]) { out in
            guard let c = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xs in
                guard let a = xs.baseAddress else { return }
                withExtendedLifetime(panels) { panels in
                    split.run { rows, columns in
                        let (i0, j0) = (rows.lowerBound, columns.lowerBound)
                        GemmScratchPool.shared.withScratch(columns: 1) { s in
                            ak_sgemm_prepacked(rows.count, columns.count, k, a + i0 * k, k, 0, panels.base, n, j0,
                                               c + i0 * n + j0, n, 0, s.packA, level.rawValue)
                        }
                    }
                }
            }
        }
    }
}
