import CKernels

/// Which implementation a GEMM call runs. `.automatic` is what the package uses; the others
/// exist so tests and benchmarks can pin one path.
package enum GemmPath: String, Sendable, CaseIterable {
    /// Unpacked loops for small products, else the packed kernel at the call's SIMD level, threaded.
    case automatic
    /// Packed, cache-blocked, with the micro-kernel of the call's SIMD level (AVX-512 14×32,
    /// AVX2+FMA / NEON 6×16; portable where the level is unsupported).
    case packedSIMD
    /// Packed, cache-blocked, with the portable C micro-kernel.
    case packedPortable
    /// The unpacked C loops used for small products.
    case unpacked
    /// Few-row products without packing (`ak_sgemm_rows`) at the call's SIMD level.
    case rowsSIMD
    /// Few-row products without packing, portable loops.
    case rowsPortable
    /// The Swift triple loop: the specification.
    case naive
}

extension MatrixMultiply {
    /// Below this many multiply-adds (m·n·k) packing costs more than it saves: `.automatic`
    /// runs the unpacked loops.
    package static let packingThreshold = 32 * 1024
    /// Below this many multiply-adds a product runs on one thread: handing work to another
    /// thread costs a few microseconds, which is what ~1M multiply-adds take on one core.
    package static let threadingThreshold = 1 << 20

    /// `C = op(A)·op(B)` (or `C += …`) through the chosen `path`, on at most `threads` threads,
    /// with the kernels of SIMD `level` for the SIMD paths (the process-wide level by default).
    ///
    /// Large products are split into contiguous blocks of rows or columns of C (whichever
    /// dimension has more register tiles), one per thread, each running the whole packed
    /// algorithm with its own packing buffers. The packed kernel sums every element in an
    /// order that depends only on k, so the result is bit-identical for any thread count.
    package static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
        path: GemmPath, level: SIMDLevel = .current, threads: Int = Threading.available
    ) {
        checkPrecondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=\(m) n=\(n) k=\(k)")
        checkPrecondition(
            ldc >= n && lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n),
            "gemm: leading dimensions lda=\(lda) ldb=\(ldb) ldc=\(ldc) too small for m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        let choiceRows = choiceRows(m)
        switch path {
        case .naive:
            naive(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                  transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate)
        case .unpacked:
            ak_sgemm_small(m, n, k, a, lda, transposeA ? 1 : 0, b, ldb, transposeB ? 1 : 0, c, ldc, accumulate ? 1 : 0)
        case .automatic where choiceRows <= fewRowsLimit:
            gemm(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                 c: c, ldc: ldc, accumulate: accumulate, path: .rowsSIMD, level: level, threads: threads)
        case .rowsSIMD, .rowsPortable:
            rowsParallel(
                m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                c: c, ldc: ldc, accumulate: accumulate, level: path == .rowsPortable ? .portable : level,
                workers: m * n * k < threadingThreshold / 4 ? 1 : max(1, threads))
        case .automatic where choiceRows * n * k < packingThreshold:
            ak_sgemm_small(m, n, k, a, lda, transposeA ? 1 : 0, b, ldb, transposeB ? 1 : 0, c, ldc, accumulate ? 1 : 0)
        case .automatic, .packedSIMD, .packedPortable:
            let kernel = path == .packedPortable ? SIMDLevel.portable : level
            let workers = m * n * k < threadingThreshold ? 1 : max(1, threads)
            packedParallel(
                m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate, kernel: kernel, workers: workers)
        }
    }

    /// While `true`, `.automatic` sends every product, whatever `m`, to the few-row kernel
    /// (`ak_sgemm_rows`), the one a one-row product takes: row `r` of `A·B` is then bit-identical
    /// to `A[r]·B` computed alone (batch invariance). Each automatic kernel sums an entry in an
    /// order that depends only on `k`, but the kernels differ from one another and which one runs
    /// depends on `m`; this fixes the choice. Set it with ``withRowIndependentProducts(_:)``; it
    /// is read on the calling thread only.
    @TaskLocal package static var rowIndependent = false

    /// Runs `body` with ``rowIndependent`` set: every `.automatic` product inside computes each
    /// output row exactly as a one-row product would. Batched decoding uses it so that a row
    /// of a batch gets the same bits as the same token decoded alone (whose products have
    /// `m = 1` and take the few-row path anyway). The few-row kernel reads `B` once per four
    /// rows, so for decode-sized `m` it costs about what the packed kernel would.
    package static func withRowIndependentProducts<R>(_ body: () throws -> R) rethrows -> R {
        try $rowIndependent.withValue(true, operation: body)
    }

    /// While greater than 1 (see ``withStackedProducts(_:_:)``), a product of `m` rows is `rowGroups`
    /// independent products of `m / rowGroups` rows stacked, and `.automatic` picks the kernel that
    /// one of them would get alone. Every automatic kernel (few-row, unpacked, packed) sums each
    /// entry of C in an order that depends only on `k`, never on `m` or on the entry's row, so
    /// the stacked product then equals the separate ones bit for bit; only the choice of
    /// kernel depends on `m`, and this fixes it.
    @TaskLocal package static var rowGroups = 1

    /// Runs `body` with ``rowGroups`` set to `groups`: a batch of `groups` equally long sequences
    /// computed together gets, per sequence, the bits it would get alone (batched prompt
    /// prefill and window refills in batched decoding).
    package static func withStackedProducts<R>(_ groups: Int, _ body: () throws -> R) rethrows -> R {
        try $rowGroups.withValue(groups, operation: body)
    }

    /// Up to this many rows of op(A), packing B costs more than it saves: each element of B is
    /// used only `m` times (decoding one token has `m = 1`).
    package static let fewRowsLimit = 4

    /// The rows a product of `m` rows chooses its kernel for: 1 under ``rowIndependent``, one
    /// group's rows under ``rowGroups``, else `m`. Every kernel choice that depends on the row
    /// count (FP32 and BF16) goes through this, so a row of a batch gets the bits it gets alone.
    package static func choiceRows(_ m: Int) -> Int {
        rowIndependent ? 1 : (rowGroups > 1 && m % rowGroups == 0 ? m / rowGroups : m)
    }

    /// Whether `.automatic` runs the packed kernel for an m×n×k product.
    package static func automaticPacks(m: Int, n: Int, k: Int) -> Bool {
        let rows = choiceRows(m)
        return rows > fewRowsLimit && rows * n * k >= packingThreshold
    }

    /// The few-row product with the columns of C split across `workers` threads (disjoint
    /// outputs, and each entry summed in the same order whatever the split).
    private static func rowsParallel(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, level: SIMDLevel, workers: Int
    ) {
        let chunks = max(1, min(workers, n / 64))
        let ta: Int32 = transposeA ? 1 : 0, tb: Int32 = transposeB ? 1 : 0, acc: Int32 = accumulate ? 1 : 0
        func runChunk(_ chunk: Int) {
            let j0 = n * chunk / chunks, j1 = n * (chunk + 1) / chunks
            guard j0 < j1 else { return }
            let bBlock = transposeB ? b + j0 * ldb : b + j0
            ak_sgemm_rows(m, j1 - j0, k, a, lda, ta, bBlock, ldb, tb, c + j0, ldc, acc, level.rawValue)
        }
        if chunks == 1 { runChunk(0) } else { parallelFor(chunks, runChunk) }
    }

    /// Splits C into `workers` blocks of whole register tiles and runs `ak_sgemm_packed` on each.
    private static func packedParallel(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
        kernel: SIMDLevel, workers: Int
    ) {
        let split = TileSplit(m: m, n: n, level: kernel, workers: workers)
        let ta: Int32 = transposeA ? 1 : 0, tb: Int32 = transposeB ? 1 : 0, acc: Int32 = accumulate ? 1 : 0
        split.run { rows, columns in
            // Rows i0… of op(A): A shifted by i0 rows (or stored columns when transposed);
            // columns j0… of op(B): B shifted by j0 columns (or stored rows when transposed).
            let (i0, j0) = (rows.lowerBound, columns.lowerBound)
            let aBlock = transposeA ? a + i0 : a + i0 * lda
            let bBlock = transposeB ? b + j0 * ldb : b + j0
            GemmScratchPool.shared.withScratch(columns: columns.count) { s in
                ak_sgemm_packed(rows.count, columns.count, k, aBlock, lda, ta, bBlock, ldb, tb, c + i0 * ldc + j0, ldc, acc,
                                s.packA, s.packB, kernel.rawValue)
            }
        }
    }
}

/// C (m×n) cut into at most `workers` blocks of whole register tiles of a level's micro-kernel,
/// along the columns or the rows (whichever has more tiles; the other stays whole), one block
/// per thread. The packed kernels sum every entry in an order that depends only on k, so the
/// split never changes the result.
package struct TileSplit {
    let m: Int, n: Int, mr: Int, nr: Int
    let splitColumns: Bool
    let tiles: Int, chunks: Int

    package init(m: Int, n: Int, level: SIMDLevel, workers: Int) {
        var mrC = 0, nrC = 0
        ak_sgemm_tile(level.rawValue, &mrC, &nrC)
        (self.m, self.n, mr, nr) = (m, n, Int(mrC), Int(nrC))
        let rowTiles = (m + mr - 1) / mr, columnTiles = (n + nr - 1) / nr
        splitColumns = columnTiles >= rowTiles
        tiles = splitColumns ? columnTiles : rowTiles
        chunks = max(1, min(workers, tiles))
    }

    /// Block `chunk`'s rows and columns of C (empty when the block has no tile).
    package func block(_ chunk: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let low = tiles * chunk / chunks, high = tiles * (chunk + 1) / chunks
        if splitColumns { return (0..<m, min(n, low * nr)..<min(n, high * nr)) }
        return (min(m, low * mr)..<min(m, high * mr), 0..<n)
    }

    /// Runs `body` on every non-empty block, in parallel when there are several.
    package func run(_ body: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        func runChunk(_ chunk: Int) {
            let (rows, columns) = block(chunk)
            if !rows.isEmpty && !columns.isEmpty { body(rows, columns) }
        }
        if chunks == 1 { runChunk(0) } else { parallelFor(chunks, runChunk) }
    }
}
