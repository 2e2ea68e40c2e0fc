extension Tensor {
    /// Batched matrix product `C = A·B` over the last two axes, leading (batch) axes broadcast.
    ///
    /// `A: [..., M, K]`, `B: [..., K, N]` → `[..., M, N]`, with
    /// `C[m, n] = Σₖ A[m, k] · B[k, n]`. Uses the packed, multi-threaded GEMM kernel.
    public func matmul(_ other: Tensor, transposingSelf: Bool = false, transposingOther: Bool = false) -> Tensor {
        MatrixMultiply.batched(self, other, transposeA: transposingSelf, transposeB: transposingOther)
    }
}

/// The matrix-product engine behind `Tensor.matmul`.
///
/// `naive` is the readable specification (and the fallback); the fast path is the packed GEMM.
package enum MatrixMultiply {
    /// Validates shapes and runs `C = op(A)·op(B)` for every broadcast batch element.
    ///
    /// Broadcast batch axes are read in place (an operand with extent 1 on a batch axis, such
    /// as a weight shared across the batch, is never copied). Many small matrices run one per
    /// thread; large ones run one after another, each split across the threads.
    package static func batched(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        checkPrecondition(a.rank >= 2, "matmul: left operand needs rank ≥ 2, got shape \(a.shape)")
        checkPrecondition(b.rank >= 2, "matmul: right operand needs rank ≥ 2, got shape \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        checkPrecondition(
            k == k2,
            "matmul: inner dimensions differ: left \(a.shape)\(transposeA ? "ᵀ" : "") has K=\(k), right \(b.shape)\(transposeB ? "ᵀ" : "") has K=\(k2)")
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        guard let batch = Tensor.broadcastShape(aBatch, bBatch) else {
            fatalError("matmul: batch shapes of \(a.shape) and \(b.shape) do not broadcast")
        }
        let batchCount = batch.reduce(1, *)
        // Element offset of each batch element's matrix; broadcast axes have stride 0.
        let aOffsets = batchOffsets(of: aBatch, matrixSize: ar * ac, in: batch)
        let bOffsets = batchOffsets(of: bBatch, matrixSize: br * bc, in: batch)
        return Tensor(uninitializedShape: batch + [m, n]) { out in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let (pa, pb, pc) = (pa.baseAddress!, pb.baseAddress!, out.baseAddress!)
                    func product(_ bi: Int, threads: Int) {
                        gemm(
                            m: m, n: n, k: k,
                            a: pa + aOffsets[bi], lda: ac, transposeA: transposeA,
                            b: pb + bOffsets[bi], ldb: bc, transposeB: transposeB,
                            c: pc + bi * m * n, ldc: n, accumulate: false, path: .automatic, threads: threads)
                    }
                    if batchCount > 1 && m * n * k < threadingThreshold {
                        parallelChunks(batchCount) { range in
                            for bi in range { product(bi, threads: 1) }
                        }
                    } else {
                        for bi in 0..<batchCount { product(bi, threads: Threading.available) }
                    }
                }
            }
        }
    }

    /// For each element of the broadcast batch shape `batch`, the offset (in elements) of the
    /// matching matrix in an operand whose batch shape is `own` and whose matrices hold
    /// `matrixSize` elements. Axes where `own` has extent 1 (or is missing) contribute 0.
    package static func batchOffsets(of own: [Int], matrixSize: Int, in batch: [Int]) -> [Int] {
        let strides = Tensor.broadcastStrides(own, to: batch).map { $0 * matrixSize }
        let count = batch.reduce(1, *)
        var offsets = [Int](repeating: 0, count: count)
        var walk = StridedOdometer(extents: batch, strides: strides)
        for e in 0..<count {
            offsets[e] = walk.offset
            walk.advance()
        }
        return offsets
    }

    /// `C = op(A)·op(B)` (or `C += …` when `accumulate`), row-major with leading dimensions.
    /// The single entry point every matrix product in the package goes through: small
    /// products run unpacked loops, larger ones the packed SIMD kernel on all threads
    /// (see `gemm(…, path:threads:)` in Kernels/Gemm.swift).
    package static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        gemm(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
             c: c, ldc: ldc, accumulate: accumulate, path: .automatic)
    }

    /// The reference triple loop (the specification of `gemm`).
    package static func naive(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = accumulate ? c[i * ldc + j] : 0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    s += av * bv
                }
                c[i * ldc + j] = s
            }
        }
    }
}
