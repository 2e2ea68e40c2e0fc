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
    private var panels: [Float] = []

    package init() {}

    /// The panels of `weight` for `level` (packed now unless cached for this very tensor).
    package func panels(for weight: Tensor, level: SIMDLevel) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        if let source, self.level == level, Self.sameStorage(source, weight) { return panels }
        let (n, k) = (weight.shape[0], weight.shape[1])
        var packed = [Float](repeating: 0, count: ak_sgemm_prepacked_b_floats(n, k, level.rawValue))
        weight.withUnsafeBufferPointer { w in
            packed.withUnsafeMutableBufferPointer { out in
                if let w = w.baseAddress, let out = out.baseAddress { ak_sgemm_prepack_b(n, k, w, k, 1, out, level.rawValue) }
            }
        }
        (source, self.level, panels) = (weight, level, packed)
        return packed
    }

    /// Whether two tensors are one storage (not merely equal values).
    private static func sameStorage(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && a.withUnsafeBufferPointer { p in b.withUnsafeBufferPointer { q in p.baseAddress == q.baseAddress } }
    }
}

extension MatrixMultiply {
    /// `x·Wᵀ` for `x: [m, k]`, `weight: [n, k]`, with `Wᵀ` packed once in `cache` whenever the
    /// automatic choice of ``gemm(m:n:k:a:lda:transposeA:b:ldb:transposeB:c:ldc:accumulate:path:level:threads:)``
    /// would run the packed kernel (same kernel, same panels, so the same bits as
    /// `x.matmul(weight, transposingOther: true)`); other products take that path unchanged.
    package static func productTransposingWeight(
        _ x: Tensor, _ weight: Tensor, cache: PrepackedWeights, threads: Int = Threading.threadCount
    ) -> Tensor {
        let (m, k, n) = (x.shape[0], x.shape[1], weight.shape[0])
        let choiceRows = rowIndependent ? 1 : (rowGroups > 1 && m % rowGroups == 0 ? m / rowGroups : m)
        guard m > 0, n > 0, k > 0, choiceRows > fewRowsLimit, choiceRows * n * k >= packingThreshold else {
            return x.matmul(weight, transposingOther: true)
        }
        let level = SIMDLevel.current
        let panels = cache.panels(for: weight, level: level)
        let workers = m * n * k < threadingThreshold ? 1 : max(1, threads)
        var mrC = 0, nrC = 0
        ak_sgemm_tile(level.rawValue, &mrC, &nrC)
        let (mr, nr) = (Int(mrC), Int(nrC))
        let rowTiles = (m + mr - 1) / mr, columnTiles = (n + nr - 1) / nr
        let splitColumns = columnTiles >= rowTiles
        let tiles = splitColumns ? columnTiles : rowTiles
        let chunks = max(1, min(workers, tiles))
        return Tensor(uninitializedShape: [m, n]) { out in
            guard let c = out.baseAddress else { return }
            x.withUnsafeBufferPointer { xs in
                panels.withUnsafeBufferPointer { pb in
                    guard let a = xs.baseAddress, let b = pb.baseAddress else { return }
                    func runChunk(_ chunk: Int) {
                        let low = tiles * chunk / chunks, high = tiles * (chunk + 1) / chunks
                        GemmScratchPool.shared.withScratch(columns: 1) { s in
                            if splitColumns {
                                let j0 = low * nr, j1 = min(n, high * nr)
                                guard j0 < j1 else { return }
                                ak_sgemm_prepacked(m, j1 - j0, k, a, k, 0, b, n, j0, c + j0, n, 0, s.packA, level.rawValue)
                            } else {
                                let i0 = low * mr, i1 = min(m, high * mr)
                                guard i0 < i1 else { return }
                                ak_sgemm_prepacked(i1 - i0, n, k, a + i0 * k, k, 0, b, n, 0, c + i0 * n, n, 0, s.packA, level.rawValue)
                            }
                        }
                    }
                    if chunks == 1 { runChunk(0) } else { parallelFor(chunks, runChunk) }
                }
            }
        }
    }
}
