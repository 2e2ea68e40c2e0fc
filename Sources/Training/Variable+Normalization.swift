import Attention
import CKernels

// Row normalisations over the last axis (`R` rows of width `C`). The forward saves each row's
// statistics (mean and 1/σ for LayerNorm, 1/rms for RMSNorm) so the backward never recomputes
// them. Weight/bias gradients are summed per chunk of rows, then the chunks in order; the
// chunks depend on the size only, so the result does not depend on threads or scheduling.
// The loops are C (`ak_train_norm_forward/backward`), vectorised with AVX2 when available.

extension Variable {
    /// Layer normalisation: `y = (x − μ) · rstd · γ + β`, `rstd = 1/√(σ² + ε)`, with `μ`, `σ²`
    /// the mean and biased variance of each row of the last axis.
    public func layerNorm(weight: Variable, bias: Variable?, epsilon: Float = 1e-5) -> Variable {
        let x = value, c = shape.last ?? 0
        checkPrecondition(weight.shape == [c], "layerNorm: weight shape \(weight.shape) must be [\(c)] for input \(x.shape)")
        if let bias { checkPrecondition(bias.shape == [c], "layerNorm: bias shape \(bias.shape) must be [\(c)] for input \(x.shape)") }
        let rows = c == 0 ? 0 : x.count / c
        var saved: [Float]? = [Float](repeating: 0, count: rows)
        var rstd = [Float](repeating: 0, count: rows)
        let gamma = weight.value, beta = bias?.value
        let y = NormalizationForward.run(x: x, gamma: gamma, beta: beta, mean: &saved, rstd: &rstd, epsilon: epsilon)
        let mean = saved   // non-nil: layerNorm is centred
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return tape.record(y, inputs: inputs) { [self = detached, weight = weight.detached, bias = bias?.detached] g, tape in
            // forward: norm = (x − μ)·rstd ; y = norm·γ + β
            // backward: dβ += Σᵣ g ; dγ += Σᵣ g·norm ; dnorm = g·γ
            //           dx += rstd · (dnorm − mean(dnorm) − norm · mean(dnorm·norm))
            NormalizationBackward.run(
                x: x, gamma: gamma, gradient: g, mean: mean, rstd: rstd, width: c, tape: tape,
                input: self, weight: weight, bias: bias)
        }
    }

    /// RMS normalisation: `y = x · rstd · γ`, `rstd = 1/√(mean(x²) + ε)` over the last axis.
    public func rmsNorm(weight: Variable, epsilon: Float = 1e-6) -> Variable {
        let x = value, c = shape.last ?? 0
        checkPrecondition(weight.shape == [c], "rmsNorm: weight shape \(weight.shape) must be [\(c)] for input \(x.shape)")
        let rows = c == 0 ? 0 : x.count / c
        var rstd = [Float](repeating: 0, count: rows)
        let gamma = weight.value
        var unused: [Float]? = nil
        let y = NormalizationForward.run(x: x, gamma: gamma, beta: nil, mean: &unused, rstd: &rstd, epsilon: epsilon)
        return tape.record(y, inputs: [self, weight]) { [self = detached, weight = weight.detached] g, tape in
            // forward: norm = x·rstd ; y = norm·γ   (LayerNorm with μ = 0, no β)
            // backward: dγ += Σᵣ g·norm ; dx += rstd · (dnorm − norm · mean(dnorm·norm))
            NormalizationBackward.run(
                x: x, gamma: gamma, gradient: g, mean: nil, rstd: rstd, width: c, tape: tape,
                input: self, weight: weight, bias: nil)
        }
    }
}

/// The shared LayerNorm / RMSNorm forward (`mean == nil` is RMSNorm).
enum NormalizationForward {
    static func run(
        x: Tensor, gamma: Tensor, beta: Tensor?, mean: inout [Float]?, rstd: inout [Float], epsilon: Float
    ) -> Tensor {
        let centred = mean != nil
        var meanStorage = mean ?? []
        let y = meanStorage.withUnsafeMutableBufferPointer { m in rstd.withUnsafeMutableBufferPointer { r in
            normalizedRows(x, weight: gamma, bias: beta, epsilon: epsilon, centred: centred,
                           mean: centred ? m.baseAddress : nil, rstd: r.baseAddress)
        } }
        if centred { mean = meanStorage }
        return y
    }
}

/// The shared LayerNorm / RMSNorm backward (`mean == nil` is RMSNorm: no centring, no β).
enum NormalizationBackward {
    static func run(
        x: Tensor, gamma: Tensor, gradient g: Tensor, mean: [Float]?, rstd: [Float], width c: Int,
        tape: Tape, input: Variable, weight: Variable, bias: Variable?
    ) {
        let rows = rstd.count
        let centred = mean != nil
        // Per-chunk partial sums of dγ and dβ: [chunks, C] each, zeroed, added in chunk order.
        // The chunk count depends on the size only (not the thread count), so the sums are
        // the same on every machine.
        let chunks = Swift.max(1, Swift.min(8, rows * c / 8192))
        var partialWeight = [Float](repeating: 0, count: chunks * c)
        var partialBias = [Float](repeating: 0, count: bias == nil ? 0 : chunks * c)
        let needX = tape.needsGradient(input)
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in gamma.withUnsafeBufferPointer { w in
        withOptionalPointer(mean) { meanPointer in rstd.withUnsafeBufferPointer { rp in
        partialWeight.withUnsafeMutableBufferPointer { pwInout in partialBias.withUnsafeMutableBufferPointer { pbInout in
            let (pw, pb) = (pwInout, pbInout)
            let hasBias = bias != nil
            let body = { (dx: UnsafeMutableBufferPointer<Float>?, accumulate: Bool) in
                parallelFor(chunks) { chunk in
                    let lo = rows * chunk / chunks, hi = rows * (chunk + 1) / chunks
                    guard lo < hi else { return }
                    ak_train_norm_backward(
                        xp.baseAddress! + lo * c, w.baseAddress!, gp.baseAddress! + lo * c,
                        meanPointer.map { $0 + lo }, rp.baseAddress! + lo,
                        dx.map { $0.baseAddress! + lo * c }, accumulate ? 1 : 0,
                        pw.baseAddress! + chunk * c, hasBias ? pb.baseAddress! + chunk * c : nil,
                        hi - lo, c, centred ? 1 : 0)
                }
            }
            if needX { tape.withGradient(of: input) { dx, accumulate in body(dx, accumulate) } } else { body(nil, false) }
        } } } } } } }
        tape.withGradient(of: weight) { acc, accumulate in sumChunks(partialWeight, chunks: chunks, width: c, into: acc, accumulate: accumulate) }
        if let bias {
            tape.withGradient(of: bias) { acc, accumulate in sumChunks(partialBias, chunks: chunks, width: c, into: acc, accumulate: accumulate) }
        }
    }

    /// `acc (+)= Σ_chunk partial[chunk]`, chunks added in order.
    static func sumChunks(_ partial: [Float], chunks: Int, width c: Int, into acc: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        if !accumulate { for j in 0..<c { acc[j] = 0 } }
        for chunk in 0..<chunks { for j in 0..<c { acc[j] += partial[chunk * c + j] } }
    }
}
