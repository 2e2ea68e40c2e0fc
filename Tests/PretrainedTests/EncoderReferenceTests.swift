import Attention
import Foundation
import Pretrained
import Testing

/// all-MiniLM-L6-v2 against sentence-transformers / transformers (values in the fixture).
///
/// Tolerances: both sides compute in Float32 but sum in different orders (our packed GEMM vs
/// oneDNN/MKL, a different softmax and LayerNorm). Each reordered dot product of length
/// K ≤ 1536 differs by about √K · 2⁻²⁴ relative ≈ 2·10⁻⁶; through six post-norm layers (LayerNorm
/// rescales but does not amplify) the final unit vectors (components ~0.05) differ by
/// ~10⁻⁷–10⁻⁶. Measured on x86-64/AVX2: embeddings ≤ 2.2·10⁻⁷, attention weights ≤ 1.2·10⁻⁶
/// (docs/notes/pretrained.md). The 1·10⁻⁴ leaves ≥ ×80 headroom for other CPUs and
/// library versions while still catching real mistakes (a tanh GELU, a missing bias or a
/// mask leak moves components by 10⁻³ or more); its cosine ≥ 0.99999 is checked as well.
@Suite(.enabled(if: ReferenceModel.isEnabled, ReferenceModel.skipNote))
struct EncoderReferenceTests {
    static let tolerance: Float = 1e-4

    @Test func embeddingsMatchSentenceTransformers() throws {
        let encoder = try ReferenceModel.encoder()
        let cases = ReferenceModel.fixture.embeddings
        let vectors = encoder.embed(cases.map(\.text))
        for (index, reference) in cases.enumerated() {
            let label = "case \(index) \"\(reference.text.caseLabel)\""
            #expect(encoder.tokenizer.encode(reference.text) == reference.ids, "\(label): token ids")
            let vector = vectors[index]
            #expect(vector.count == reference.embedding.count, "\(label): width")
            let difference = zip(vector, reference.embedding).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= Self.tolerance, "\(label): max |Δ| = \(difference)")
            #expect(cosineSimilarity(vector, reference.embedding) >= 0.99999, "\(label): cosine")
        }
    }

    /// `--precision bf16`: every embedding within cosine 0.999 of sentence-transformers' FP32
    /// vector (issue 12's bar), and not equal to ours in FP32 (the conversion took effect).
    @Test func bfloat16EmbeddingsStayWithinCosine0999() throws {
        let exact = try ReferenceModel.encoder()
        let fast = exact.converted(to: .bfloat16)
        #expect(fast.model.precision == .bfloat16 && exact.model.precision == .float32)
        let cases = ReferenceModel.fixture.embeddings
        let vectors = fast.embed(cases.map(\.text))
        for (index, reference) in cases.enumerated() {
            let cosine = cosineSimilarity(vectors[index], reference.embedding)
            #expect(cosine >= 0.999, "case \(index) \"\(reference.text.caseLabel)\": cosine \(cosine)")
        }
        #expect(vectors != exact.embed(cases.map(\.text)))
    }

    /// Padding, grouping and batch size must not change any vector.
    @Test(arguments: [1, 3, 32])
    func batchesEqualOneAtATime(batchSize: Int) throws {
        let encoder = try ReferenceModel.encoder()
        let texts = ReferenceModel.fixture.embeddings.map(\.text)
        let batched = encoder.embed(texts, batchSize: batchSize)
        for (index, text) in texts.enumerated() {
            let alone = encoder.embed([text])[0]
            let difference = zip(alone, batched[index]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-6, "batch size \(batchSize), case \(index) \"\(text.caseLabel)\": max |Δ| = \(difference)")
        }
    }

    @Test func attentionMatchesTransformersOutputAttentions() throws {
        let encoder = try ReferenceModel.encoder()
        let reference = ReferenceModel.fixture.attention
        let (tokens, maps) = encoder.attentionMaps(reference.text)
        #expect(tokens == reference.tokens)
        #expect(maps.count == reference.layers)
        let length = tokens.count
        for layer in maps.indices {
            #expect(maps[layer].shape == [reference.heads, length, length], "layer \(layer)")
            // Every row is a probability distribution.
            for row in 0..<(reference.heads * length) {
                let sum = maps[layer].scalars[(row * length)..<((row + 1) * length)].reduce(0, +)
                #expect(abs(sum - 1) <= 1e-5, "layer \(layer) head \(row / length) row \(row % length): sum \(sum)")
            }
        }
        for row in reference.rows {
            let start = (row.head * length + row.row) * length
            let ours = Array(maps[row.layer].scalars[start..<(start + length)])
            let difference = zip(ours, row.weights).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= Self.tolerance, "layer \(row.layer) head \(row.head) row \(row.row): max |Δ| = \(difference)")
        }
    }

    /// The seeds' example: in a trained model "it" attends to its referent.
    @Test func itAttendsToTheAnimalSomewhere() throws {
        let encoder = try ReferenceModel.encoder()
        let (tokens, maps) = encoder.attentionMaps("The animal didn't cross the street because it was too tired.")
        let it = try #require(tokens.firstIndex(of: "it")), animal = try #require(tokens.firstIndex(of: "animal"))
        let length = tokens.count
        let best = maps.flatMap { map in
            (0..<map.shape[0]).map { head in map.scalars[(head * length + it) * length + animal] }
        }.max() ?? 0
        #expect(best > 0.2, "strongest attention from \"it\" to \"animal\" over all heads is \(best)")
    }
}
