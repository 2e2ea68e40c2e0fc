import Attention
import Foundation
import Pretrained
import Testing

/// `SentenceEncoder.attribution`: batched knockouts and head ablations against one plain run
/// per intervention, on the tiny random BERT and on all-MiniLM-L6-v2 when it is available.
@Suite struct EncoderAttributionTests {
    static let ids = [2, 38, 36, 37, 9, 31, 3]   // [CLS] cat it was … [SEP]

    static func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= 1e-6 + 2e-3 * max(abs(a), abs(b)) }

    /// Boolean `[1, 1, T, T]`: every edge but query→key.
    static func handMask(length t: Int, query: Int, key: Int) -> AttentionMask {
        var entries = [Float](repeating: 1, count: t * t)
        entries[query * t + key] = 0
        return .boolean(Tensor(shape: [1, 1, t, t], scalars: entries))
    }

    @Test func copiesWithoutInterventionsReproduceTheEncoder() throws {
        let bert = try TinyBert(); defer { bert.remove() }
        let t = Self.ids.count
        let plain = bert.model.encode([Self.ids]).hiddenStates
        let copies = bert.model.forwardCopies(of: bert.model.inputEmbeddings([Self.ids, Self.ids]), batch: 2, length: t,
                                              fromLayer: 0, mask: .none, headGates: { _ in nil })
        for b in 0..<2 {
            let rows = copies.sliced(axis: 0, (b * t)..<(b * t + t))
            let difference = zip(rows.scalars, plain.scalars).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-4, "copy \(b) differs from encode by \(difference)")
        }
    }

    @Test func knockoutsMatchOneRunPerEdge() throws {
        let bert = try TinyBert(); defer { bert.remove() }
        let encoder = try SentenceEncoder(modelDirectory: bert.folder)
        let t = Self.ids.count, focus = 2
        let effects = encoder.attribution(tokenIDs: Self.ids, focus: focus)
        let base = encoder.model.encode([Self.ids]).hiddenStates
        let baseFocus = Array(base.sliced(axis: 0, focus..<(focus + 1)).scalars)
        #expect(effects.knockout.count == t)
        for j in 0..<t {
            let states = encoder.model.forwardCopies(
                of: encoder.model.inputEmbeddings([Self.ids]), batch: 1, length: t, fromLayer: 0,
                mask: Self.handMask(length: t, query: focus, key: j), headGates: { _ in nil })
            let direct = cosineDistance(baseFocus, Array(states.sliced(axis: 0, focus..<(focus + 1)).scalars))
            #expect(Self.close(effects.knockout[j], direct), "knockout \(focus)→\(j): batched \(effects.knockout[j]), direct \(direct)")
        }
        #expect(effects.knockout.max()! > 1e-4, "knockouts should matter in the scaled tiny model: \(effects.knockout)")
    }

    @Test func headAblationsMatchAModelWithThatHeadsOutputColumnsZeroed() throws {
        let bert = try TinyBert(); defer { bert.remove() }
        let encoder = try SentenceEncoder(modelDirectory: bert.folder)
        let c = encoder.model.configuration, d = c.headSize
        let effects = encoder.attribution(tokenIDs: Self.ids, focus: 1)
        let base = encoder.embed(tokenIDs: [Self.ids])[0]
        #expect(effects.headAblation.count == c.layerCount && effects.headAblation.allSatisfy { $0.count == c.headCount })
        for layer in 0..<c.layerCount {
            for head in 0..<c.headCount {
                // Zeroing head h's context before W^O = zeroing W^O's input columns h·d..<(h+1)·d.
                var model = encoder.model
                var w = model.layers[layer].attentionOutput.weight.scalars
                for row in 0..<c.hiddenSize { for column in (head * d)..<((head + 1) * d) { w[row * c.hiddenSize + column] = 0 } }
                model.layers[layer].attentionOutput.weight = Tensor(shape: [c.hiddenSize, c.hiddenSize], scalars: w)
                let ablated = SentenceEncoder(tokenizer: encoder.tokenizer, model: model, pooling: encoder.pooling)
                    .embed(tokenIDs: [Self.ids])[0]
                let direct = cosineDistance(base, ablated)
                #expect(Self.close(effects.headAblation[layer][head], direct),
                        "layer \(layer) head \(head): batched \(effects.headAblation[layer][head]), direct \(direct)")
            }
        }
    }

    @Test func knockoutMatrixRowsAreEachFocussKnockouts() throws {
        let bert = try TinyBert(); defer { bert.remove() }
        let encoder = try SentenceEncoder(modelDirectory: bert.folder)
        let matrix = encoder.knockoutMatrix(tokenIDs: Self.ids, batchSize: 10)
        for focus in Self.ids.indices {
            let knockout = encoder.attribution(tokenIDs: Self.ids, focus: focus).knockout
            for j in Self.ids.indices {
                #expect(Self.close(matrix[focus][j], knockout[j]), "focus \(focus) key \(j): \(matrix[focus][j]) vs \(knockout[j])")
            }
        }
    }

    @Test(.enabled(if: ReferenceModel.isEnabled, ReferenceModel.skipNote))
    func miniLMWeightsAreTheAttentionMapsAndEffectsHaveTheirShapes() throws {
        let encoder = try ReferenceModel.encoder()
        let text = "The animal didn't cross the street because it was too tired."
        let ids = encoder.tokenizer.encode(text)
        let focus = try #require(encoder.tokenizer.tokens(for: ids).firstIndex(of: "it"))
        let effects = encoder.attribution(tokenIDs: ids, focus: focus)
        let (_, maps) = encoder.attentionMaps(text)
        #expect(effects.weights.count == 6)
        for (layer, map) in maps.enumerated() { #expect(effects.weights[layer].scalars == map.scalars, "layer \(layer)") }
        #expect(effects.knockout.count == ids.count && effects.knockout.allSatisfy { $0.isFinite && $0 >= 0 })
        #expect(effects.headAblation.count == 6 && effects.headAblation.allSatisfy { $0.count == 12 })
        #expect(effects.headAblation.joined().allSatisfy { $0.isFinite && $0 >= 0 })
    }
}
