import Attention
import CKernels
import Training

// The differentiable forward: the same equations as `logits(tokens:)`, recorded on a tape so
// that `tape.backward(loss)` returns a gradient for every checkpoint name.

extension TinyLLMModel {
    /// Mean next-byte cross-entropy (nats per byte) of `inputs` against `targets`, on `tape`.
    ///
    /// ```
    /// h = E[inputs] + P[0..<L]            → blocks (causal) → LN → logits = h·Eᵀ
    /// loss = (1 / B·L) Σ_{b,t} [log Σ_v exp(logits[b,t,v]) − logits[b,t,targets[b][t]]]
    /// ```
    /// The embedding `E` is read twice under one name, so its gradient is the sum of the
    /// input-lookup and the output-head contributions (weight tying). Dropout
    /// (``TinyLLMConfiguration/dropout``) applies to the embedding sum and each residual
    /// branch when `tape.isTraining`.
    ///
    /// - Precondition: `inputs` and `targets` are `B` rows of one length `L ≤ contextLength`,
    ///   ids in 0–255.
    public func loss(inputs: [[Int]], targets: [[Int]], on tape: Tape) -> Variable {
        let (b, l) = checkTokens(inputs)
        checkPrecondition(targets.count == b && targets.allSatisfy { $0.count == l },
            "TinyLLMModel.loss: targets \(targets.count)×\(targets.first?.count ?? 0) must match inputs \(b)×\(l)")
        let d = configuration.width, dropout = configuration.dropout
        var x = embedding(inputs.flatMap { $0 }, on: tape, prefix: "embedding").reshaped([b, l, d])   // [B, L, d]
        if let positions { x = positions(x, prefix: "positions") }
        x = x.dropout(probability: dropout)
        for (i, block) in blocks.enumerated() {
            x = block(x, prefix: "blocks.\(i)", mask: .causal, residualDropout: dropout)
        }
        x = finalNorm(x, prefix: "finalNorm")
        let tiedHead = tape.parameter("embedding.weight", embedding.weight)                       // [V, d]
        let logits = x.reshaped([b * l, d]).linear(weight: tiedHead, bias: nil)                      // [B·L, V]
        return logits.crossEntropy(targets: targets.flatMap { $0 })
    }

    /// Mean next-byte cross-entropy (nats per byte) without a tape: the evaluation path.
    /// Every position of every row counts equally, as in ``loss(inputs:targets:on:)``.
    public func evaluationLoss(inputs: [[Int]], targets: [[Int]]) -> Double {
        let (b, l) = checkTokens(inputs)
        checkPrecondition(targets.count == b && targets.allSatisfy { $0.count == l },
            "TinyLLMModel.evaluationLoss: targets \(targets.count)×\(targets.first?.count ?? 0) must match inputs \(b)×\(l)")
        let rowLogits = logits(tokens: inputs)                               // [B, L, V]
        let v = configuration.vocabularySize, rows = b * l
        let flatTargets = targets.flatMap { $0 }.map(Int64.init)
        checkPrecondition(flatTargets.allSatisfy { 0 <= $0 && $0 < v },
            "TinyLLMModel.evaluationLoss: targets must be byte ids 0..<\(v)")
        // Per row lse − logit[target] from the training rows' C kernel (vectorised; no
        // [B, L, V] log-probabilities written), summed in row order in Double.
        var lse = [Float](repeating: 0, count: rows), losses = [Float](repeating: 0, count: rows)
        rowLogits.withUnsafeBufferPointer { x in
            flatTargets.withUnsafeBufferPointer { t in
                guard let x = x.baseAddress, let t = t.baseAddress else { return }
                ak_train_cross_entropy_forward(x, t, rows, v, -1, &lse, &losses)
            }
        }
        return losses.reduce(0.0) { $0 + Double($1) } / Double(rows)
    }
}
