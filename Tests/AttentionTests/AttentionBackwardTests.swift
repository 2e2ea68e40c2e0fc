import Attention
import Testing
import TestSupport

/// The three backward code paths the tests exercise.
enum BackwardPath: String, CaseIterable, CustomStringConvertible {
    case reference, fusedSIMD, fusedPortable
    var description: String { rawValue }

    func run(_ c: TestSupport.AttentionCase, _ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor)
        -> (queries: Tensor, keys: Tensor, values: Tensor)
    {
        let problem = AttentionProblem(
            function: "test", queries: q.shape, keys: k.shape, values: v.shape,
            scale: c.scale, mask: c.attentionMask, alibiSlopes: c.slopes)
        switch self {
        case .reference:
            return ReferenceAttentionBackward.backward(problem, outputGradient: dO, queries: q, keys: k, values: v)
        case .fusedSIMD, .fusedPortable:
            let simd = self == .fusedSIMD
            let (o, lse) = FusedAttention.forward(problem, queries: q, keys: k, values: v, useSIMD: simd)
            return FusedAttentionBackward.backward(
                problem, outputGradient: dO, queries: q, keys: k, values: v, output: o, logSumExp: lse, useSIMD: simd)
        }
    }
}

/// Largest |a − b| between two Float32 tensors of the same shape.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

extension TestSupport.AttentionCase {
    /// Backward-specific cases: several key blocks and key groups (the fused kernel's tiles are
    /// 64×64), causal/sliding tiles skipped at both ends, Lq ≠ Lk both ways, GQA/MQA, D ≠ Dv.
    static let backwardGrid: [TestSupport.AttentionCase] = [
        TestSupport.AttentionCase("causal Lq>Lk GQA blocks", b: 1, hq: 4, hkv: 2, lq: 129, lk: 65, d: 33, dv: 7, mask: .causal),
        TestSupport.AttentionCase("causal Lq<Lk MQA blocks", b: 2, hq: 3, hkv: 1, lq: 65, lk: 200, d: 16, dv: 24, mask: .causal),
        TestSupport.AttentionCase("sliding 40 Lq<Lk", b: 1, hq: 2, hkv: 1, lq: 129, lk: 257, d: 8, dv: 12, mask: .slidingWindow(40)),
        TestSupport.AttentionCase("none 1x1", b: 1, hq: 1, hkv: 1, lq: 1, lk: 1, d: 1, dv: 1),
        TestSupport.AttentionCase("none 7 keyBlocks", b: 1, hq: 1, hkv: 1, lq: 33, lk: 449, d: 7, dv: 65),
        TestSupport.AttentionCase("additive [Lq,Lk] alibi", b: 2, hq: 2, hkv: 2, lq: 70, lk: 130, d: 64, dv: 32,
                      mask: .additive([70, 130]), alibi: true),
        TestSupport.AttentionCase("boolean [B,Hq,1,Lk] sliding-free", b: 2, hq: 2, hkv: 1, lq: 65, lk: 129, d: 16, dv: 16,
                      mask: .boolean([2, 2, 1, 129])),
    ]
}

@Suite struct AttentionBackwardTests {
    /// Every mask kind on every path against the Float64 gradients, and fused against reference.
    @Test(arguments: TestSupport.AttentionCase.grid + TestSupport.AttentionCase.backwardGrid)
    func matchesFloat64OnEveryPath(_ c: TestSupport.AttentionCase) {
        let (q, k, v) = c.inputs()
        let dO = c.outputGradient()
        let expected = c.float64Backward(q, k, v, dO)
        let reference = BackwardPath.reference.run(c, q, k, v, dO)
        for path in BackwardPath.allCases {
            let got = path.run(c, q, k, v, dO)
            let errors = [
                Float64Reference.maxAbsError(got.queries, expected.queries),
                Float64Reference.maxAbsError(got.keys, expected.keys),
                Float64Reference.maxAbsError(got.values, expected.values),
            ]
            let vsReference = [
                maxAbsDifference(got.queries, reference.queries),
                maxAbsDifference(got.keys, reference.keys),
                maxAbsDifference(got.values, reference.values),
            ]
            print("\(c) \(path): vs Float64 \(errors) vs reference \(vsReference)")
            #expect(got.queries.shape == q.shape && got.keys.shape == k.shape && got.values.shape == v.shape,
                    "\(c) \(path): shapes \(got.queries.shape) \(got.keys.shape) \(got.values.shape)")
            #expect(errors.max()! <= 1e-4, "\(c) \(path): max abs error vs Float64 (dQ, dK, dV) = \(errors)")
            #expect(vsReference.max()! <= 1e-4, "\(c) \(path): max abs difference vs reference (dQ, dK, dV) = \(vsReference)")
            let finite = [got.queries, got.keys, got.values].allSatisfy { $0.scalars.allSatisfy(\.isFinite) }
            #expect(finite, "\(c) \(path): non-finite gradient")
        }
    }
}
