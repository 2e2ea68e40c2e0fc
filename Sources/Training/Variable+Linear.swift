import Attention
import CKernels

extension Variable {
    /// A fused fully connected layer over the last axis: `y = act(x·Wᵀ + b)`, with `W`
    /// `[out, in]` (the `Linear` layout), `b` `[out]` or nil, and `act` an optional GELU.
    ///
    /// One GEMM writes the product, the bias (and GELU) are applied in the same pass. The
    /// backward runs two accumulating GEMMs straight into `dx` and `dW`
    /// (`dx += dz·W`, `dW += dzᵀ·x`) and column sums into `db`, with `dz = g ⊙ act′(z)`.
    public func linear(weight: Variable, bias: Variable?, activation: GELUApproximation? = nil) -> Variable {
        let x = value, w = weight.value
        let (outputSize, inputSize) = (w.shape[0], w.shape[1])
        checkPrecondition(w.rank == 2, "linear: weight must be [out, in], got shape \(w.shape)")
        checkPrecondition(x.rank >= 1 && x.shape[x.rank - 1] == inputSize,
            "linear: input shape \(x.shape) must end in inputSize \(inputSize) (weight \(w.shape))")
        if let bias { checkPrecondition(bias.shape == [outputSize], "linear: bias shape \(bias.shape) must be [\(outputSize)]") }
        let (saved, y) = Self.linearForward(x, w, bias: bias?.value, activation: activation)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return tape.record(y, inputs: inputs) { [self = detached, weight = weight.detached, bias = bias?.detached] g, tape in
            let dz = Self.preActivationGradient(g, saved: saved, activation: activation)
            Self.accumulateLinearGradients(dz, x: x, w: w, into: tape, input: self, weight: weight, bias: bias)
        }
    }

    /// `z = x·Wᵀ + b` (one GEMM) and `y = act(z)`, with what the backward needs of `z`: with
    /// the tanh GELU, the slope `GELU′(z)` (the bias, the GELU and its slope in one pass over
    /// `z`, one tanh per element, split by rows across threads; the slope overwrites `z`); with
    /// the exact GELU, `z` itself; with no activation, nothing (`z`, which is `y`).
    static func linearForward(_ x: Tensor, _ w: Tensor, bias b: Tensor?, activation: GELUApproximation?) -> (saved: Tensor, y: Tensor) {
        let (outputSize, inputSize) = (w.shape[0], w.shape[1])
        let rows = x.count / Swift.max(inputSize, 1)
        let outShape = Array(x.shape.dropLast()) + [outputSize]
        var z = Tensor(uninitializedShape: outShape) { out in
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                MatrixMultiply.gemm(m: rows, n: outputSize, k: inputSize, a: xp.baseAddress!, lda: inputSize, transposeA: false,
                    b: wp.baseAddress!, ldb: inputSize, transposeB: true, c: out.baseAddress!, ldc: outputSize, accumulate: false)
            } }
        }
        if activation == .tanh {
            // z ← z + b, y = gelu(z), z ← gelu′(z) in one pass.
            let y = Tensor(uninitializedShape: outShape) { out in
                z.withUnsafeMutableBufferPointer { zp in
                    withOptionalPointer(b) { bp in
                        rowRanges(rows: rows, width: outputSize) { range in
                            let offset = range.lowerBound * outputSize
                            ak_train_bias_gelu_tanh_slope(zp.baseAddress! + offset, bp, out.baseAddress! + offset, range.count, outputSize)
                        }
                    }
                }
            }
            return (z, y)
        }
        if let b {
            z.withUnsafeMutableBufferPointer { zp in b.withUnsafeBufferPointer { bp in
                ak_train_bias_gelu_tanh(zp.baseAddress!, bp.baseAddress!, nil, rows, outputSize)
            } }
        }
        guard let activation else { return (z, z) }
        let y = Tensor(uninitializedShape: outShape) { out in
            z.withUnsafeBufferPointer { zp in
                parallelChunks(out.count, minimumChunk: 4096) { range in
                    for i in range { out[i] = GELUMath.value(zp[i], activation) }
                }
            }
        }
        return (z, y)
    }

    /// `dz = g ⊙ act′(z)` in a fresh buffer (`g` itself is shared with the tape), from what
    /// `linearForward` saved: `g ⊙ slope` (tanh), `g ⊙ GELU′(z)` (exact); `g` when there is no
    /// activation.
    static func preActivationGradient(_ g: Tensor, saved: Tensor, activation: GELUApproximation?) -> Tensor {
        guard let activation else { return g }
        return Tensor(uninitializedShape: g.shape) { d in
            saved.withUnsafeBufferPointer { sp in g.withUnsafeBufferPointer { gp in
                parallelChunks(d.count, minimumChunk: 4096) { range in
                    if activation == .tanh {
                        ak_train_multiply(gp.baseAddress! + range.lowerBound, sp.baseAddress! + range.lowerBound,
                                          d.baseAddress! + range.lowerBound, range.count, 0)
                    } else {
                        for i in range { d[i] = gp[i] * GELUMath.derivative(sp[i], activation) }
                    }
                }
            } }
        }
    }

    /// The three gradients of `z = x·Wᵀ + b`, each accumulated straight into the tape's buffer:
    /// `dx[rows, in] += dz·W`, `dW[out, in] += dzᵀ·x`, `db[out] += Σ_rows dz`.
    static func accumulateLinearGradients(_ dz: Tensor, x: Tensor, w: Tensor, into tape: Tape,
                                          input: Variable, weight: Variable, bias: Variable?) {
        let (outputSize, inputSize) = (w.shape[0], w.shape[1])
        let rows = x.count / Swift.max(inputSize, 1)
        dz.withUnsafeBufferPointer { dzp in
            if tape.needsGradient(input) {
                w.withUnsafeBufferPointer { wp in
                    tape.withGradient(of: input) { dx, accumulate in
                        MatrixMultiply.gemm(m: rows, n: inputSize, k: outputSize, a: dzp.baseAddress!, lda: outputSize, transposeA: false,
                            b: wp.baseAddress!, ldb: inputSize, transposeB: false, c: dx.baseAddress!, ldc: inputSize, accumulate: accumulate)
                    }
                }
            }
            if tape.needsGradient(weight) {
                x.withUnsafeBufferPointer { xp in
                    tape.withGradient(of: weight) { dw, accumulate in
                        MatrixMultiply.gemm(m: outputSize, n: inputSize, k: rows, a: dzp.baseAddress!, lda: outputSize, transposeA: true,
                            b: xp.baseAddress!, ldb: inputSize, transposeB: false, c: dw.baseAddress!, ldc: inputSize, accumulate: accumulate)
                    }
                }
            }
            if let bias {
                tape.withGradient(of: bias) { db, accumulate in
                    columnSums(dzp.baseAddress!, rows: rows, width: outputSize, into: db.baseAddress!, accumulate: accumulate)
                }
            }
        }
    }
}

