import Attention
import Testing
import TestSupport

/// Weights packed once (`ak_sgemm_prepack_b`, `PrepackedWeights`) give the bits of packing
/// them on every call, for any thread split, and are re-packed when the weight changes.
@Suite struct PrepackedWeightsTests {
    /// Not multiples of the 14×32 / 6×16 tiles, several k slices (600 → 3 × 200), few rows
    /// (the few-row path, untouched), a product small enough for the unpacked loops.
    static let sizes: [(m: Int, n: Int, k: Int)] = [
        (7, 65, 129), (30, 100, 600), (200, 33, 300), (64, 1536, 384), (3, 70, 41), (5, 17, 7), (15, 33, 31),
    ]

    /// At every SIMD level the machine has (an AVX2 kernel once read the panels with aligned
    /// loads, which only some allocations satisfied, and crashed where none was forced).
    @Test(arguments: SIMDLevel.available)
    func prepackedProductsEqualPackingEachTime(level: SIMDLevel) {
        for (index, s) in Self.sizes.enumerated() {
            var g = SeededGenerator(seed: UInt64(40 + index))
            let x = Tensor.randomNormal([s.m, s.k], standardDeviation: 1, generator: &g)
            var w = Tensor.randomNormal([s.n, s.k], standardDeviation: 1, generator: &g)
            let cache = PrepackedWeights()
            let expected = Self.packingEachTime(x, w, level: level)
            for threads in [1, 2, 3] {
                let y = MatrixMultiply.productTransposingWeight(x, w, cache: cache, threads: threads, level: level)
                #expect(y.scalars.map(\.bitPattern) == expected, "\(s) at \(level), \(threads) threads")
            }
            // A changed weight (same shape) is packed again, not served from the old panels.
            w.withUnsafeMutableBufferPointer { for i in $0.indices where i % 7 == 0 { $0[i] = -$0[i] } }
            let changed = MatrixMultiply.productTransposingWeight(x, w, cache: cache, level: level)
            #expect(changed.scalars.map(\.bitPattern) == Self.packingEachTime(x, w, level: level),
                    "\(s) at \(level): after changing the weight")
        }
    }

    /// `x·wᵀ` through the automatic GEMM at `level` (B packed inside the call), as bit patterns.
    static func packingEachTime(_ x: Tensor, _ w: Tensor, level: SIMDLevel) -> [UInt32] {
        let (m, k, n) = (x.shape[0], x.shape[1], w.shape[0])
        var c = [Float](repeating: 0, count: m * n)
        x.withUnsafeBufferPointer { xs in
            w.withUnsafeBufferPointer { ws in
                c.withUnsafeMutableBufferPointer { cs in
                    MatrixMultiply.gemm(m: m, n: n, k: k, a: xs.baseAddress!, lda: k, transposeA: false,
                                        b: ws.baseAddress!, ldb: k, transposeB: true, c: cs.baseAddress!, ldc: n,
                                        accumulate: false, path: .automatic, level: level)
                }
            }
        }
        return c.map(\.bitPattern)
    }

    @Test func linearUsesItsPackedWeightAndFollowsEdits() {
        var g = SeededGenerator(seed: 9)
        var layer = Linear(inputSize: 300, outputSize: 70, generator: &g)
        layer.bias = .randomNormal([70], standardDeviation: 1, generator: &g)
        let x = Tensor.randomNormal([2, 9, 300], standardDeviation: 1, generator: &g)
        func plain(_ l: Linear) -> [Float] {
            x.reshaped([18, 300]).matmul(l.weight, transposingOther: true).addingRowVector(l.bias ?? .zeros([70])).scalars
        }
        #expect(layer(x).scalars == plain(layer))
        #expect(layer(x).scalars == plain(layer), "second call, from the packed panels")
        layer.weight.withUnsafeMutableBufferPointer { $0[5] += 1 }
        #expect(layer(x).scalars == plain(layer), "after an edit")
    }
}
