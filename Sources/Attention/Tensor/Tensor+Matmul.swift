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
    package static func batched(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        precondition(a.rank >= 2, "matmul: left operand needs rank ≥ 2, got shape \(a.shape)")
        precondition(b.rank >= 2, "matmul: right operand needs rank ≥ 2, got shape \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(
            k == k2,
            "matmul: inner dimensions differ: left \(a.shape)\(transposeA ? "ᵀ" : "") has K=\(k), right \(b.shape)\(transposeB ? "ᵀ" : "") has K=\(k2)")
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        guard let batch = Tensor.broadcastShape(aBatch, bBatch) else {
            preconditionFailure("matmul: batch shapes of \(a.shape) and \(b.shape) do not broadcast")
        }
        let x = a.broadcast(to: batch + [ar, ac]), y = b.broadcast(to: batch + [br, bc])
        let batchCount = batch.reduce(1, *)
        return Tensor(uninitializedShape: batch + [m, n]) { out in
            x.withUnsafeBufferPointer { pa in
                y.withUnsafeBufferPointer { pb in
                    for bi in 0..<batchCount {
                        gemm(
                            m: m, n: n, k: k,
                            a: pa.baseAddress! + bi * ar * ac, lda: ac, transposeA: transposeA,
                            b: pb.baseAddress! + bi * br * bc, ldb: bc, transposeB: transposeB,
                            c: out.baseAddress! + bi * m * n, ldc: n, accumulate: false)
                    }
                }
            }
        }
    }

    /// `C = op(A)·op(B)` (or `C += …` when `accumulate`), row-major with leading dimensions.
    /// The single entry point every matrix product in the package goes through.
    package static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        naive(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
              c: c, ldc: ldc, accumulate: accumulate)
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
