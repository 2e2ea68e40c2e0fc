import Attention

// Row normalisations over the last axis (`R` rows of width `C`). The forward saves each row's
// statistics (mean and 1/σ for LayerNorm, 1/rms for RMSNorm) so the backward never recomputes
// them. Weight/bias gradients are summed per thread chunk, then the chunks in order, so the
// result depends only on the thread count, never on scheduling.

extension Variable {
    /// Layer normalisation: `y = (x − μ) · rstd · γ + β`, `rstd = 1/√(σ² + ε)`, with `μ`, `σ²`
    /// the mean and biased variance of each row of the last axis.
    public func layerNorm(weight: Variable, bias: Variable?, epsilon: Float = 1e-5) -> Variable {
        let x = value, c = shape.last ?? 0
        precondition(weight.shape == [c], "layerNorm: weight shape \(weight.shape) must be [\(c)] for input \(x.shape)")
        if let bias { precondition(bias.shape == [c], "layerNorm: bias shape \(bias.shape) must be [\(c)] for input \(x.shape)") }
        let rows = c == 0 ? 0 : x.count / c
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        let gamma = weight.value, beta = bias?.value
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in gamma.withUnsafeBufferPointer { w in
            mean.withUnsafeMutableBufferPointer { mp in rstd.withUnsafeMutableBufferPointer { rp in
                let b = beta?.scalars
                rowParallel(rows: rows) { r in
                    let base = r * c
                    var m: Float = 0
                    for j in 0..<c { m += xp[base + j] }
                    m /= Float(c)
                    var variance: Float = 0
                    for j in 0..<c { let d = xp[base + j] - m; variance += d * d }
                    let s = 1 / (variance / Float(c) + epsilon).squareRoot()
                    mp[r] = m; rp[r] = s
                    if let b {
                        for j in 0..<c { out[base + j] = (xp[base + j] - m) * s * w[j] + b[j] }
                    } else {
                        for j in 0..<c { out[base + j] = (xp[base + j] - m) * s * w[j] }
                    }
                }
            } } } }
        }
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        return tape.record(y, inputs: inputs) { g, tape in
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
        precondition(weight.shape == [c], "rmsNorm: weight shape \(weight.shape) must be [\(c)] for input \(x.shape)")
        let rows = c == 0 ? 0 : x.count / c
        var rstd = [Float](repeating: 0, count: rows)
        let gamma = weight.value
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.withUnsafeBufferPointer { xp in gamma.withUnsafeBufferPointer { w in
            rstd.withUnsafeMutableBufferPointer { rp in
                rowParallel(rows: rows) { r in
                    let base = r * c
                    var ss: Float = 0
                    for j in 0..<c { ss += xp[base + j] * xp[base + j] }
                    let s = 1 / (ss / Float(c) + epsilon).squareRoot()
                    rp[r] = s
                    for j in 0..<c { out[base + j] = xp[base + j] * s * w[j] }
                }
            } } }
        }
        return tape.record(y, inputs: [self, weight]) { g, tape in
            // forward: norm = x·rstd ; y = norm·γ   (LayerNorm with μ = 0, no β)
            // backward: dγ += Σᵣ g·norm ; dx += rstd · (dnorm − norm · mean(dnorm·norm))
            NormalizationBackward.run(
                x: x, gamma: gamma, gradient: g, mean: nil, rstd: rstd, width: c, tape: tape,
                input: self, weight: weight, bias: nil)
        }
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
        let chunks = Swift.max(1, Swift.min(Threading.threadCount, rows / 16))
        // Per-chunk partial sums of dγ and dβ: [chunks, C] each.
        var partialWeight = [Float](repeating: 0, count: chunks * c)
        var partialBias = [Float](repeating: 0, count: chunks * c)
        let needX = tape.needsGradient(input)
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in gamma.withUnsafeBufferPointer { w in
        partialWeight.withUnsafeMutableBufferPointer { pwInout in partialBias.withUnsafeMutableBufferPointer { pbInout in
            let pw = pwInout, pb = pbInout
            let body = { (dx: UnsafeMutableBufferPointer<Float>?, accumulate: Bool) in
                parallelFor(chunks) { chunk in
                    let lo = rows * chunk / chunks, hi = rows * (chunk + 1) / chunks
                    let dw = pw.baseAddress! + chunk * c, db = pb.baseAddress! + chunk * c
                    for r in lo..<hi {
                        let base = r * c
                        let m = mean?[r] ?? 0, s = rstd[r]
                        var dnormMean: Float = 0, dnormNormMean: Float = 0
                        for j in 0..<c {
                            let norm = (xp[base + j] - m) * s
                            let dnorm = gp[base + j] * w[j]
                            dnormMean += dnorm
                            dnormNormMean += dnorm * norm
                            dw[j] += gp[base + j] * norm
                            db[j] += gp[base + j]
                        }
                        dnormMean = centred ? dnormMean / Float(c) : 0
                        dnormNormMean /= Float(c)
                        guard let dx else { continue }
                        for j in 0..<c {
                            let norm = (xp[base + j] - m) * s
                            let d = (gp[base + j] * w[j] - dnormMean - norm * dnormNormMean) * s
                            dx[base + j] = accumulate ? dx[base + j] + d : d
                        }
                    }
                }
            }
            if needX { tape.withGradient(of: input) { dx, accumulate in body(dx, accumulate) } } else { body(nil, false) }
        } } } } }
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
