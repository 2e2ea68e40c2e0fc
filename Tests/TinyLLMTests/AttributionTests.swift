import Attention
import AttentionViz
import Testing
import TinyLLM

/// `TinyLLMModel.attribution` (batched knockouts and head ablations) against one plain model
/// run per intervention, and rollout against a direct product.
@Suite struct TinyLLMAttributionTests {
    /// The tiny preset with weights scaled up so attention is far from uniform and every
    /// intervention has a visible effect (random weights of std 0.02 give KLs near 1e-9).
    static func model(seed: UInt64 = 3) -> TinyLLMModel {
        var generator = SeededGenerator(seed: seed)
        var model = TinyLLMModel(configuration: .tiny, generator: &generator)
        model.visitParameters(prefix: "") { name, tensor in
            if name.hasSuffix("wq.weight") || name.hasSuffix("wk.weight") { tensor = tensor * Tensor(40) }
            else if !name.contains("norm") { tensor = tensor * Tensor(15) }
        }
        return model
    }

    static let tokens = Array("ROMEO: soft!".utf8).map(Int.init)

    /// The plain forward with one explicit mask, written out from the public layers.
    static func focusLogits(_ model: TinyLLMModel, _ tokens: [Int], focus: Int, mask: AttentionMask) -> [Float] {
        let l = tokens.count, d = model.configuration.width
        var x = model.embedding(tokens).reshaped([1, l, d])
        if let positions = model.positions { x = positions(x, startPosition: 0) }
        for block in model.blocks { x = block(x, mask: mask) }
        let h = model.finalNorm(x).reshaped([l, d]).sliced(axis: 0, focus..<(focus + 1))
        return h.matmul(model.embedding.weight, transposingOther: true).scalars
    }

    /// Causal mask `[1, 1, L, L]` with the edge query→key removed, built entry by entry.
    static func handMask(length l: Int, query: Int, key: Int) -> AttentionMask {
        var entries = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in 0...i { entries[i * l + j] = 1 } }
        entries[query * l + key] = 0
        return .boolean(Tensor(shape: [1, 1, l, l], scalars: entries))
    }

    static func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= 1e-6 + 2e-3 * max(abs(a), abs(b)) }

    @Test func knockoutsMatchOneRunPerEdge() {
        let model = Self.model(), tokens = Self.tokens, focus = 8
        let effects = model.attribution(tokens: tokens, focus: focus)
        let base = Self.focusLogits(model, tokens, focus: focus, mask: .causal)
        #expect(effects.knockout.count == tokens.count)
        for j in 0...focus {
            let knocked = Self.focusLogits(model, tokens, focus: focus, mask: Self.handMask(length: tokens.count, query: focus, key: j))
            let direct = Float(klDivergence(logits: base, logits: knocked))
            #expect(Self.close(effects.knockout[j], direct), "knockout \(focus)→\(j): batched \(effects.knockout[j]), direct \(direct)")
        }
        #expect(effects.knockout[0...focus].max()! > 1e-3, "the scaled model's knockouts should matter: \(effects.knockout)")
        // Later tokens are hidden by the causal mask already: removing the edge changes nothing.
        for j in (focus + 1)..<tokens.count { #expect(effects.knockout[j] < 1e-9, "knockout of future token \(j): \(effects.knockout[j])") }
    }

    @Test func headAblationsMatchAModelWithThatHeadsOutputColumnsZeroed() {
        let model = Self.model(seed: 5), tokens = Self.tokens, focus = 10
        let effects = model.attribution(tokens: tokens, focus: focus)
        let c = model.configuration, d = c.headDimension
        let base = Self.focusLogits(model, tokens, focus: focus, mask: .causal)
        #expect(effects.headAblation.count == c.layers && effects.headAblation.allSatisfy { $0.count == c.heads })
        for layer in 0..<c.layers {
            for head in 0..<c.heads {
                // Zeroing head h's context before W^O is zeroing W^O's input columns h·D..<(h+1)·D.
                var copy = model
                var w = copy.blocks[layer].attention.wo.weight.scalars
                let inputs = c.heads * d
                for row in 0..<c.width { for column in (head * d)..<((head + 1) * d) { w[row * inputs + column] = 0 } }
                copy.blocks[layer].attention.wo.weight = Tensor(shape: [c.width, inputs], scalars: w)
                let ablated = Self.focusLogits(copy, tokens, focus: focus, mask: .causal)
                let direct = Float(klDivergence(logits: base, logits: ablated))
                #expect(Self.close(effects.headAblation[layer][head], direct),
                        "layer \(layer) head \(head): batched \(effects.headAblation[layer][head]), direct \(direct)")
                #expect(direct > 1e-5)
            }
        }
    }

    /// An edge whose attention weight is ≈ 0 in every layer and head: position `j`'s learned
    /// position vector is huge along `e`, and every layer's keys read only `e` with a sign
    /// that makes focus→j score about −20 below the rest. Removing that edge changes nothing.
    @Test func knockingOutANearZeroWeightEdgeChangesNothing() {
        var model = Self.model(seed: 9)
        let c = model.configuration, width = c.width, j = 2, focus = 9
        let e = (0..<width).map { Float($0 % 2 == 0 ? 1 : -1) / Float(width).squareRoot() }   // zero mean, unit norm
        var positions = model.positions!.weight.scalars
        for k in 0..<width { positions[j * width + k] += 1000 * e[k] }
        model.positions!.weight = Tensor(shape: [c.contextLength, width], scalars: positions)
        for index in model.blocks.indices {
            let outputs = model.blocks[index].attention.wk.outputSize
            // k = −(eᵀ·LN(x))·1, q = 1: the score of key j is −Σ_D (eᵀLN x_j)/√D ≈ −√width·√D.
            model.blocks[index].attention.wk = Linear(
                weight: Tensor(shape: [outputs, width], scalars: (0..<outputs).flatMap { _ in e.map { -$0 } }),
                bias: .zeros([outputs]))
            model.blocks[index].attention.wq = Linear(weight: .zeros([outputs, width]), bias: Tensor(shape: [outputs], scalars: [Float](repeating: 1, count: outputs)))
        }
        let effects = model.attribution(tokens: Self.tokens, focus: focus)
        let weights = effects.weights.flatMap { layer in (0..<c.heads).map { layer[$0, focus, j] } }
        #expect(weights.allSatisfy { $0 < 1e-6 }, "weights focus→\(j): \(weights)")
        #expect(effects.knockout[j] < 1e-7, "knockout of a ≈0-weight edge: \(effects.knockout[j])")
        let others = (0...focus).filter { $0 != j }.map { effects.knockout[$0] }
        #expect(others.max()! > 1e-4, "other knockouts should matter: \(others)")
    }

    @Test func rolloutIsTheFocusRowOfTheProductOfMixedMeanWeights() {
        let model = Self.model(), tokens = Self.tokens, focus = 7, t = tokens.count
        let effects = model.attribution(tokens: tokens, focus: focus)
        let attribution = Attribution(tokens: tokens.map { String(UnicodeScalar(UInt8($0))) }, focus: focus, effects: effects)
        // v = e_focusᵀ·Â_N⋯Â_1, multiplied from the left, one layer at a time, last layer first.
        var v = (0..<t).map { $0 == focus ? 1.0 : 0.0 }
        for layer in effects.weights.reversed() {
            let h = layer.shape[0]
            v = (0..<t).map { j in
                (0..<t).reduce(0.0) { sum, i in
                    let mean = (0..<h).reduce(0.0) { $0 + Double(layer[$1, i, j]) } / Double(h)
                    return sum + v[i] * (0.5 * mean + (i == j ? 0.5 : 0))
                }
            }
        }
        for j in 0..<t { #expect(abs(Double(attribution.rollout[j]) - v[j]) < 1e-5, "rollout[\(j)] \(attribution.rollout[j]) vs \(v[j])") }
        #expect(abs(attribution.rollout.reduce(0, +) - 1) < 1e-4)
        #expect(attribution.rollout[(focus + 1)...].allSatisfy { $0 == 0 }, "a causal model's rollout never reaches later tokens")
        // The weights reported are the focus rows, summing to 1 and zero after the focus.
        for layer in attribution.weights { for row in layer {
            #expect(abs(row.reduce(0, +) - 1) < 1e-4)
            #expect(row[(focus + 1)...].allSatisfy { $0 == 0 })
        } }
    }

    @Test func knockoutMatrixRowsAreEachFocussKnockouts() {
        let model = Self.model(seed: 11), tokens = Array(Self.tokens.prefix(9))
        let matrix = model.knockoutMatrix(tokens: tokens, batchSize: 7)   // batches that split focuses
        for focus in [0, 4, 8] {
            let knockout = model.attribution(tokens: tokens, focus: focus).knockout
            for j in tokens.indices {
                #expect(Self.close(matrix[focus][j], knockout[j]), "focus \(focus) key \(j): \(matrix[focus][j]) vs \(knockout[j])")
            }
        }
    }
}
