import Attention

extension Variable {
    /// Batched matrix product over the last two axes, leading axes broadcast:
    /// `C = op(A)·op(B)` with `op` the optional transpose.
    ///
    /// The backward writes straight into the operands' gradients with accumulating GEMMs
    /// (`MatrixMultiply.gemm(…, accumulate:)`), so no temporary product is allocated:
    /// `dA += dC·op(B)ᵀ` and `dB += op(A)ᵀ·dC`, arranged for each transpose case.
    public func matmul(_ other: Variable, transposingSelf: Bool = false, transposingOther: Bool = false) -> Variable {
        let (a, b) = (value, other.value)
        let c = a.matmul(b, transposingSelf: transposingSelf, transposingOther: transposingOther)
        return tape.record(c, inputs: [self, other]) { [self = detached, other = other.detached] g, tape in
            // forward: C = op(A)·op(B)
            MatmulBackward.run(
                a: a, b: b, gradient: g, transposeA: transposingSelf, transposeB: transposingOther,
                tape: tape, left: self, right: other)
        }
    }
}

/// The matmul backward: for each output batch element, two accumulating GEMMs.
///
/// With `C = A·B` (`[M,K]·[K,N]`): `dA = dC·Bᵀ`, `dB = Aᵀ·dC`. Transposed operands swap roles:
/// `C = Aᵀ·B` gives `dA = B·dCᵀ`; `C = A·Bᵀ` gives `dB = dCᵀ·A`; `C = Aᵀ·Bᵀ` gives
/// `dA = Bᵀ·dCᵀ`, `dB = dCᵀ·Aᵀ`. Broadcast batch elements accumulate into the same slice.
///
/// Work is split by the gradient slice written: batch elements that write the same slice (a
/// broadcast operand) run in order on one thread, distinct slices run in parallel when each
/// product is small (one GEMM per thread), so the sums never depend on the thread count.
enum MatmulBackward {
    static func run(
        a: Tensor, b: Tensor, gradient g: Tensor, transposeA: Bool, transposeB: Bool,
        tape: Tape, left: Variable, right: Variable
    ) {
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac
        let n = transposeB ? br : bc
        let batch = Array(g.shape.dropLast(2))
        let aOffsets = batchOffsets(Array(a.shape.dropLast(2)), in: batch, matrix: ar * ac)
        let bOffsets = batchOffsets(Array(b.shape.dropLast(2)), in: batch, matrix: br * bc)
        g.withUnsafeBufferPointer { gp in
            let dc = gp.baseAddress!
            if tape.needsGradient(left) {
                b.withUnsafeBufferPointer { bp in
                    tape.withGradient(of: left) { da, accumulate in
                        forEachSlice(aOffsets, work: m * n * k) { bi, first, threads in
                            let ao = aOffsets[bi], bo = bp.baseAddress! + bOffsets[bi], gc = dc + bi * m * n
                            let acc = accumulate || !first
                            if !transposeA {
                                // dA[M,K] = dC[M,N] · op(B)ᵀ ; op(B) = B[K,N] or Bᵀ (B is [N,K])
                                MatrixMultiply.gemm(m: m, n: k, k: n, a: gc, lda: n, transposeA: false,
                                    b: bo, ldb: bc, transposeB: !transposeB, c: da.baseAddress! + ao, ldc: ac, accumulate: acc,
                                    path: .automatic, threads: threads)
                            } else {
                                // A is [K,M]: dA[K,M] = op(B) · dCᵀ
                                MatrixMultiply.gemm(m: k, n: m, k: n, a: bo, lda: bc, transposeA: transposeB,
                                    b: gc, ldb: n, transposeB: true, c: da.baseAddress! + ao, ldc: ac, accumulate: acc,
                                    path: .automatic, threads: threads)
                            }
                        }
                    }
                }
            }
            if tape.needsGradient(right) {
                a.withUnsafeBufferPointer { ap in
                    tape.withGradient(of: right) { db, accumulate in
                        forEachSlice(bOffsets, work: m * n * k) { bi, first, threads in
                            let bo = bOffsets[bi], ao = ap.baseAddress! + aOffsets[bi], gc = dc + bi * m * n
                            let acc = accumulate || !first
                            if !transposeB {
                                // dB[K,N] = op(A)ᵀ · dC
                                MatrixMultiply.gemm(m: k, n: n, k: m, a: ao, lda: ac, transposeA: !transposeA,
                                    b: gc, ldb: n, transposeB: false, c: db.baseAddress! + bo, ldc: bc, accumulate: acc,
                                    path: .automatic, threads: threads)
                            } else {
                                // B is [N,K]: dB[N,K] = dCᵀ · op(A)
                                MatrixMultiply.gemm(m: n, n: k, k: m, a: gc, lda: n, transposeA: true,
                                    b: ao, ldb: ac, transposeB: transposeA, c: db.baseAddress! + bo, ldc: bc, accumulate: acc,
                                    path: .automatic, threads: threads)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(batchIndex, isFirstWriteOfItsSlice, gemmThreads)` for every batch element.
    /// Elements sharing a slice offset form a group run in batch order; groups run in
    /// parallel (one thread per GEMM) when a product has fewer than ~1M multiply-adds,
    /// otherwise serially with threaded GEMMs.
    static func forEachSlice(_ offsets: [Int], work: Int, _ body: (Int, Bool, Int) -> Void) {
        var groupOf: [Int: Int] = [:]
        var groups: [[Int]] = []
        for (bi, offset) in offsets.enumerated() {
            if let gi = groupOf[offset] { groups[gi].append(bi) } else { groupOf[offset] = groups.count; groups.append([bi]) }
        }
        if groups.count > 1 && work < MatrixMultiply.threadingThreshold {
            parallelChunks(groups.count) { range in
                for gi in range { for (j, bi) in groups[gi].enumerated() { body(bi, j == 0, 1) } }
            }
        } else {
            for group in groups { for (j, bi) in group.enumerated() { body(bi, j == 0, Threading.available) } }
        }
    }

    /// Element offset of each output batch element's operand matrix (broadcast axes repeat).
    static func batchOffsets(_ operand: [Int], in batch: [Int], matrix: Int) -> [Int] {
        let count = batch.reduce(1, *)
        let pad = batch.count - operand.count
        let padded = [Int](repeating: 1, count: pad) + operand
        let own = Tensor.strides(of: padded)
        let batchStrides = Tensor.strides(of: batch)
        return (0..<count).map { flat in
            var offset = 0
            for axis in 0..<batch.count where padded[axis] != 1 {
                offset += (flat / batchStrides[axis]) % batch[axis] * own[axis]
            }
            return offset * matrix
        }
    }
}
