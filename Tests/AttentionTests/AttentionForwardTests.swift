import Attention
import Testing
import TestSupport

/// The three forward code paths the tests exercise.
enum ForwardPath: String, CaseIterable, CustomStringConvertible {
    case reference, fusedSIMD, fusedPortable
    var description: String { rawValue }

    func run(_ c: TestSupport.AttentionCase, _ q: Tensor, _ k: Tensor, _ v: Tensor) -> (output: Tensor, logSumExp: Tensor) {
        let problem = AttentionProblem(
            function: "test", queries: q.shape, keys: k.shape, values: v.shape,
            scale: c.scale, mask: c.attentionMask, alibiSlopes: c.slopes)
        switch self {
        case .reference: return ReferenceAttention.forward(problem, queries: q, keys: k, values: v)
        case .fusedSIMD: return FusedAttention.forward(problem, queries: q, keys: k, values: v, useSIMD: true)
        case .fusedPortable: return FusedAttention.forward(problem, queries: q, keys: k, values: v, useSIMD: false)
        }
    }
}

/// Largest |a − b| over finite pairs; a pair where exactly one side is −inf counts as infinite.
func maxLogSumExpError(_ t: Tensor, _ reference: [Double]) -> Double {
    var worst = 0.0
    for (x, y) in zip(t.scalars, reference) {
        if x == -.infinity && y == -.infinity { continue }
        worst = max(worst, abs(Double(x) - y))
    }
    return worst
}

@Suite struct AttentionForwardTests {
    /// Every mask kind on every path against Float64, within 1e-5, and within the error budget:
    /// the fused kernel may be at most ~2× as far from Float64 as the naive Float32 reference.
    @Test(arguments: TestSupport.AttentionCase.grid)
    func matchesFloat64OnEveryPath(_ c: TestSupport.AttentionCase) {
        let (q, k, v) = c.inputs()
        let expected = c.float64(q, k, v)
        let referenceError = Float64Reference.maxAbsError(ForwardPath.reference.run(c, q, k, v).output, expected.output)
        for path in ForwardPath.allCases {
            let (output, lse) = path.run(c, q, k, v)
            let error = Float64Reference.maxAbsError(output, expected.output)
            #expect(output.shape == [c.batch, c.queryHeads, c.queryLength, c.valueDimension], "\(c) \(path)")
            #expect(error <= 1e-5, "\(c) \(path): output max abs error \(error)")
            #expect(error <= 2 * referenceError + 2e-6, "\(c) \(path): error \(error) vs reference \(referenceError)")
            #expect(!output.scalars.contains { !$0.isFinite }, "\(c) \(path): non-finite output")
            let lseError = maxLogSumExpError(lse, expected.logSumExp)
            #expect(lseError <= 1e-4, "\(c) \(path): log-sum-exp error \(lseError)")
        }
    }

    /// The public entry points route to the same kernels and agree with each other.
    @Test(arguments: [TestSupport.AttentionCase.grid[4], TestSupport.AttentionCase.grid[10]])
    func publicAPIAgrees(_ c: TestSupport.AttentionCase) {
        let (q, k, v) = c.inputs(seed: 7)
        for implementation in AttentionImplementation.allCases {
            let plain = scaledDotProductAttention(
                queries: q, keys: k, values: v, scale: c.scale, mask: c.attentionMask,
                alibiSlopes: c.slopes, implementation: implementation)
            let (output, lse) = scaledDotProductAttentionWithLogSumExp(
                queries: q, keys: k, values: v, scale: c.scale, mask: c.attentionMask,
                alibiSlopes: c.slopes, implementation: implementation)
            #expect(plain == output, "\(c) \(implementation)")
            #expect(lse.shape == [c.batch, c.queryHeads, c.queryLength], "\(c) \(implementation)")
        }
    }

    /// Long rows spanning many key tiles, with a large score range so the running max must
    /// grow and rescale many times (scores scaled up 8×).
    @Test func onlineSoftmaxRescalesAcrossManyTiles() {
        let c = TestSupport.AttentionCase("sharp", b: 1, hq: 1, hkv: 1, lq: 3, lk: 1000, d: 16, dv: 4, scale: 2)
        let (q, k, v) = c.inputs(seed: 3)
        let expected = c.float64(q, k, v)
        for path in ForwardPath.allCases {
            let error = Float64Reference.maxAbsError(path.run(c, q, k, v).output, expected.output)
            #expect(error <= 1e-5, "\(path): error \(error)")
        }
    }
}

