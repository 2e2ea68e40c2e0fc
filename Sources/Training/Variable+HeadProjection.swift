import Attention
import CKernels

// The query/key/value projections of self-attention as one operation.
//
// Dimensions: B batch, L length, C model size, P projections (3: q, k, v), H heads, D head
// size, R = B·L rows. Three separate `Linear`s followed by `splitHeads` run three GEMMs with
// N = H·D and three permuting copies forward, and the same again backward. Here the weights
// are stacked into one `[P·H·D, C]` matrix, so one GEMM (N = P·H·D) computes every
// projection, and the result is written straight into head layout. Backward: one GEMM for
// `dx` (K = P·H·D) and one for the stacked `dW`.

extension Variable {
    /// `x` `[B, L, C]` projected by `P` weights `[H·D, C]` (and optional biases `[H·D]`,
    /// all present or all absent), returned in head layout `[P, B, H, L, D]`:
    /// `out[p, b, h, l, :] = (x[b, l] · W_pᵀ + b_p)[h·D ..< (h+1)·D]`.
    ///
    /// Equivalent to `splitHeads(linear(x, W_p, b_p))` for each `p`, stacked.
    static func headProjections(_ x: Variable, weights: [Variable], biases: [Variable]?, heads: Int) -> Variable {
        let p = weights.count
        let outputSize = weights[0].shape[0], c = weights[0].shape[1]
        checkPrecondition(x.rank == 3 && x.shape[2] == c && weights.allSatisfy { $0.shape == [outputSize, c] } && outputSize % heads == 0,
            "headProjections: x \(x.shape) must be [B, L, \(c)] and every weight \(weights.map(\.shape)) [H·D, C] with H = \(heads)")
        if let biases { checkPrecondition(biases.count == p && biases.allSatisfy { $0.shape == [outputSize] }, "headProjections: bias shapes \(biases.map(\.shape))") }
        let (b, l, d) = (x.shape[0], x.shape[1], outputSize / heads)
        let rows = b * l, width = p * outputSize
        let input = x.value
        let stacked = Tensor.concatenated(weights.map(\.value), axis: 0)  // [P·H·D, C]
        let stackedBias = biases.map { Tensor.concatenated($0.map(\.value), axis: 0) }
        // z[R, P·H·D] = x·Wᵀ (+ b)
        var z = Tensor(uninitializedShape: [rows, width]) { out in
            input.withUnsafeBufferPointer { xp in stacked.withUnsafeBufferPointer { wp in
                MatrixMultiply.gemm(m: rows, n: width, k: c, a: xp.baseAddress!, lda: c, transposeA: false,
                    b: wp.baseAddress!, ldb: c, transposeB: true, c: out.baseAddress!, ldc: width, accumulate: false)
            } }
        }
        if let stackedBias {
            z.withUnsafeMutableBufferPointer { zp in stackedBias.withUnsafeBufferPointer { bp in
                ak_train_bias_gelu_tanh(zp.baseAddress!, bp.baseAddress!, nil, rows, width)
            } }
        }
        let layout = HeadLayout(projections: p, batch: b, heads: heads, length: l, headSize: d)
        let y = Tensor(uninitializedShape: [p, b, heads, l, d]) { out in
            z.withUnsafeBufferPointer { layout.scatter(rowMajor: $0, into: out) }
        }
        let inputs = [x] + weights + (biases ?? [])
        return x.tape.record(y, inputs: inputs) { [x = x.detached, weights = weights.map(\.detached), biases = biases?.map(\.detached)] g, tape in
            // forward: z = x·Wᵀ + b ; y = heads(z)  →  dz = rows(g), dx += dz·W, dW += dzᵀ·x, db += Σ dz
            let dz = Tensor(uninitializedShape: [rows, width]) { out in
                g.withUnsafeBufferPointer { layout.gather(heads: $0, into: out) }
            }
            dz.withUnsafeBufferPointer { dzp in
                if tape.needsGradient(x) {
                    stacked.withUnsafeBufferPointer { wp in
                        tape.withGradient(of: x) { dx, accumulate in
                            MatrixMultiply.gemm(m: rows, n: c, k: width, a: dzp.baseAddress!, lda: width, transposeA: false,
                                b: wp.baseAddress!, ldb: c, transposeB: false, c: dx.baseAddress!, ldc: c, accumulate: accumulate)
                        }
                    }
                }
                let dw = Tensor(uninitializedShape: [width, c]) { out in
                    input.withUnsafeBufferPointer { xp in
                        MatrixMultiply.gemm(m: width, n: c, k: rows, a: dzp.baseAddress!, lda: width, transposeA: true,
                            b: xp.baseAddress!, ldb: c, transposeB: false, c: out.baseAddress!, ldc: c, accumulate: false)
                    }
                }
                for (k, weight) in weights.enumerated() {
                    tape.accumulate(dw.sliced(axis: 0, (k * outputSize)..<((k + 1) * outputSize)), into: weight)
                }
                if let biases {
                    var db = [Float](repeating: 0, count: width)
                    db.withUnsafeMutableBufferPointer { columnSums(dzp.baseAddress!, rows: rows, width: width, into: $0.baseAddress!, accumulate: false) }
                    for (k, bias) in biases.enumerated() {
                        tape.accumulate(Tensor(shape: [outputSize], scalars: Array(db[(k * outputSize)..<((k + 1) * outputSize)])), into: bias)
                    }
                }
            }
        }
    }
}

/// Index arithmetic between rows `[B·L, P·H·D]` and head layout `[P, B, H, L, D]`; each
/// `D`-long run is contiguous on both sides.
struct HeadLayout {
    let projections: Int, batch: Int, heads: Int, length: Int, headSize: Int

    /// `(row offset, head-layout offset)` of every contiguous run; the `(p, b)` blocks run in
    /// parallel (each writes its own runs).
    @inline(__always)
    func forEachRun(_ body: (Int, Int) -> Void) {
        let width = projections * heads * headSize
        parallelChunks(projections * batch, minimumChunk: Swift.max(1, 16384 / Swift.max(heads * length * headSize, 1))) { range in
            for block in range {
                let (p, b) = (block / batch, block % batch)
                var target = block * heads * length * headSize
                for h in 0..<heads {
                    for l in 0..<length {
                        body((b * length + l) * width + (p * heads + h) * headSize, target)
                        target += headSize
                    }
                }
            }
        }
    }

    func scatter(rowMajor z: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let d = headSize
        forEachRun { source, target in (out.baseAddress! + target).update(from: z.baseAddress! + source, count: d) }
    }

    func gather(heads g: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let d = headSize
        forEachRun { row, head in (out.baseAddress! + row).update(from: g.baseAddress! + head, count: d) }
    }
}
