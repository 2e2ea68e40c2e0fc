import Attention
import Testing

/// The README's "engine in ten lines", compiled and checked so the documentation cannot rot.
@Suite struct ReadmeExampleTests {
    @Test func engineInTenLines() {
        var g = SeededGenerator(seed: 1)
        let q = Tensor.randomNormal([2, 8, 100, 64], generator: &g)
        let k = Tensor.randomNormal([2, 2, 120, 64], generator: &g)
        let v = Tensor.randomNormal([2, 2, 120, 48], generator: &g)
        let out = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal)
        let ref = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, implementation: .reference)
        let w = attentionWeights(queries: q, keys: k, mask: .keyPadding([120, 77]))
        let mha = MultiHeadAttention(modelSize: 256, heads: 8, keyValueHeads: 2, generator: &g)
        let y = mha(Tensor.randomNormal([1, 10, 256], generator: &g), mask: .causal)

        #expect(out.shape == [2, 8, 100, 48])
        #expect(out.maxAbsDifference(ref) < 1e-5)
        #expect(w.shape == [2, 8, 100, 120])
        #expect(w.sliced(axis: 0, 1..<2).sliced(axis: 3, 77..<120).scalars.allSatisfy { $0 == 0 })
        #expect(y.shape == [1, 10, 256])
    }
}
