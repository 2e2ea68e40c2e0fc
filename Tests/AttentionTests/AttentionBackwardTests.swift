import Attention
import Testing
import TestSupport

/// The backward code paths the tests exercise: the materialising reference and the fused
/// kernels (forward and backward) at each SIMD level.
enum BackwardPath: Equatable, Sendable, CustomStringConvertible {
    case reference
    case fused(SIMDLevel)

    /// The fused kernels at the process-wide level (what the package runs).
    static var fusedSIMD: BackwardPath { .fused(.current) }
    static var fusedPortable: BackwardPath { .fused(.portable) }
    /// The reference and the fused kernels at every SIMD level this machine has.
    static var allCases: [BackwardPath] { [.reference] + SIMDLevel.available.map { .fused($0) } }

    var description: String {
        switch self {
        case .reference: return "reference"
        case .fused(let level): return "fused \(level)"
        }
    }

    func run(_ c: TestSupport.AttentionCase, _ q: Tensor, _ k: Tensor, _ v: Tensor, _ dO: Tensor)
        -> (queries: Tensor, keys: Tensor, values: Tensor)
    {
        let problem = AttentionProblem(
            function: "test", queries: q.shape, keys: k.shape, values: v.shape,
            scale: c.scale, mask: c.attentionMask, alibiSlopes: c.slopes)
        switch self {
        case .reference:
            return ReferenceAttentionBackward.backward(problem, outputGradient: dO, queries: q, keys: k, values: v)
        case .fused(let level):
            let (o, lse) = FusedAttention.forward(problem, queries: q, keys: k, values: v, level: level)
            return FusedAttentionBackward.backward(
                problem, outputGradient: dO, queries: q, keys: k, values: v, output: o, logSumExp: lse, level: level)
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
    /// Budget: unit-normal inputs give gradients of order 1 summed over ≤ 450 terms, so Float32
    /// rounding leaves ~1e-6; 1e-4 is the bound, and the fused paths must also stay
    /// within 3× the materialising Float32 reference's own error (+2e-6 for cases where that
    /// reference happens to be exact), which catches systematic errors far below 1e-4.
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
            #expect(got.queries.shape == q.shape && got.keys.shape == k.shape && got.values.shape == v.shape,
                    "\(c) \(path): shapes \(got.queries.shape) \(got.keys.shape) \(got.values.shape)")
            #expect(errors.max()! <= 1e-4, "\(c) \(path): max abs error vs Float64 (dQ, dK, dV) = \(errors)")
            let referenceErrors = [
                Float64Reference.maxAbsError(reference.queries, expected.queries),
                Float64Reference.maxAbsError(reference.keys, expected.keys),
                Float64Reference.maxAbsError(reference.values, expected.values),
            ]
            for (error, budget) in zip(errors, referenceErrors) {
                #expect(error <= 3 * budget + 2e-6, "\(c) \(path): error \(errors) vs reference's own \(referenceErrors)")
            }
            #expect(vsReference.max()! <= 1e-4, "\(c) \(path): max abs difference vs reference (dQ, dK, dV) = \(vsReference)")
            let finite = [got.queries, got.keys, got.values].allSatisfy { $0.scalars.allSatisfy(\.isFinite) }
            #expect(finite, "\(c) \(path): non-finite gradient")
        }
    }
}

extension AttentionBackwardTests {
    /// Tiny cases for central differences: every mask kind, GQA, Lq ≠ Lk, D ≠ Dv.
    static let finiteDifferenceCases: [TestSupport.AttentionCase] = [
        .init("fd none scale=0.7", b: 1, hq: 2, hkv: 1, lq: 3, lk: 5, d: 3, dv: 2, scale: 0.7),
        .init("fd causal Lq>Lk", b: 1, hq: 2, hkv: 1, lq: 5, lk: 3, d: 3, dv: 2, mask: .causal),
        .init("fd sliding 2", b: 1, hq: 2, hkv: 2, lq: 4, lk: 6, d: 2, dv: 3, mask: .slidingWindow(2)),
        .init("fd keyPadding", b: 2, hq: 1, hkv: 1, lq: 3, lk: 4, d: 3, dv: 2, mask: .keyPadding([2, 0])),
        .init("fd boolean", b: 1, hq: 2, hkv: 1, lq: 3, lk: 5, d: 3, dv: 2, mask: .boolean([1, 2, 3, 5])),
        .init("fd additive alibi", b: 1, hq: 2, hkv: 1, lq: 3, lk: 5, d: 3, dv: 2, mask: .additive([3, 5]), alibi: true),
    ]

    /// The Float64 analytic gradients, and the fused kernel's, equal central differences of
    /// `L = Σ dO ∘ attention(Q, K, V)` evaluated in Float64. Each input is perturbed by
    /// h ≈ 1e-3 in Float32 and the quotient divides by the perturbation actually stored, so
    /// the only error is the O(h²) truncation (≲ 1e-6 here).
    @Test(arguments: finiteDifferenceCases)
    func gradientsMatchFiniteDifferences(_ c: TestSupport.AttentionCase) {
        let (q, k, v) = c.inputs(seed: 3)
        let dO = c.outputGradient(seed: 4)
        func loss(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Double {
            let out = Float64Reference.attention(
                queries: q, keys: k, values: v, scale: c.scale.map(Double.init), allowed: c.allowed, bias: c.bias)
            return zip(out, dO.scalars).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let analytic = c.float64Backward(q, k, v, dO)
        let fused = BackwardPath.fusedSIMD.run(c, q, k, v, dO)
        let inputs = [("queries", q), ("keys", k), ("values", v)]
        let analyticGradients = [analytic.queries, analytic.keys, analytic.values]
        let fusedGradients = [fused.queries, fused.keys, fused.values]
        for (which, (name, x)) in inputs.enumerated() {
            for index in 0..<x.count {
                func perturbed(_ step: Float) -> (Tensor, Double) {
                    var scalars = x.scalars
                    scalars[index] += step
                    return (Tensor(shape: x.shape, scalars: scalars), Double(scalars[index]))
                }
                let (plus, xPlus) = perturbed(1e-3), (minus, xMinus) = perturbed(-1e-3)
                let lossPlus = which == 0 ? loss(plus, k, v) : which == 1 ? loss(q, plus, v) : loss(q, k, plus)
                let lossMinus = which == 0 ? loss(minus, k, v) : which == 1 ? loss(q, minus, v) : loss(q, k, minus)
                let numeric = (lossPlus - lossMinus) / (xPlus - xMinus)
                let a = analyticGradients[which][index], f = Double(fusedGradients[which].scalars[index])
                #expect(abs(a - numeric) <= 1e-5, "\(c) d\(name)[\(index)]: Float64 analytic \(a) vs finite difference \(numeric)")
                #expect(abs(f - numeric) <= 1e-4, "\(c) d\(name)[\(index)]: fused \(f) vs finite difference \(numeric)")
            }
        }
    }
}

extension AttentionBackwardTests {
    /// Rows that may attend to no key (key padding 0, causal rows before the first key, an
    /// all-zero boolean row) get exactly zero dQ, and their keys get no dK/dV from them.
    @Test(arguments: BackwardPath.allCases)
    func fullyMaskedRowsGiveZeroGradients(_ path: BackwardPath) {
        let padded = TestSupport.AttentionCase("padding 0", b: 2, hq: 2, hkv: 1, lq: 5, lk: 70, d: 8, dv: 4, mask: .keyPadding([0, 70]))
        let (q, k, v) = padded.inputs()
        let g = path.run(padded, q, k, v, padded.outputGradient())
        let half = g.queries.count / 2, halfKeys = g.keys.count / 2, halfValues = g.values.count / 2
        #expect(g.queries.scalars[..<half].allSatisfy { $0 == 0 }, "\(path): dQ of batch row 0 (no keys) must be 0")
        #expect(g.keys.scalars[..<halfKeys].allSatisfy { $0 == 0 }, "\(path): dK of batch row 0 must be 0")
        #expect(g.values.scalars[..<halfValues].allSatisfy { $0 == 0 }, "\(path): dV of batch row 0 must be 0")
        #expect(g.queries.scalars[half...].contains { $0 != 0 }, "\(path): dQ of batch row 1 must not vanish")

        // Causal with Lq > Lk: query i sees keys j ≤ i − 67, so rows 0..<67 see nothing.
        let causal = TestSupport.AttentionCase("causal Lq>Lk", b: 1, hq: 1, hkv: 1, lq: 70, lk: 3, d: 4, dv: 4, mask: .causal)
        let (cq, ck, cv) = causal.inputs()
        let cg = path.run(causal, cq, ck, cv, causal.outputGradient())
        #expect(cg.queries.scalars[..<(67 * 4)].allSatisfy { $0 == 0 }, "\(path): causal rows with no key must have dQ = 0")
        #expect([cg.queries, cg.keys, cg.values].allSatisfy { $0.scalars.allSatisfy(\.isFinite) }, "\(path): non-finite gradient")

        // A boolean mask whose row 1 is all zeros (and −inf additive rows behave alike).
        var rows = [Float](repeating: 1, count: 3 * 9)
        for j in 0..<9 { rows[9 + j] = 0 }
        let problemMask = AttentionMask.boolean(Tensor(shape: [3, 9], scalars: rows))
        var g0 = SeededGenerator(seed: 11)
        let bq = Tensor.randomNormal([1, 1, 3, 4], generator: &g0)
        let bk = Tensor.randomNormal([1, 1, 9, 4], generator: &g0), bv = Tensor.randomNormal([1, 1, 9, 2], generator: &g0)
        let bdO = Tensor.randomNormal([1, 1, 3, 2], generator: &g0)
        let implementation: AttentionImplementation = path == .reference ? .reference : .fused
        let (o, lse) = scaledDotProductAttentionWithLogSumExp(queries: bq, keys: bk, values: bv, mask: problemMask)
        #expect(lse.scalars[1] == -.infinity, "row 1 has no allowed key: lse \(lse.scalars)")
        let bg = scaledDotProductAttentionBackward(
            outputGradient: bdO, queries: bq, keys: bk, values: bv, output: o, logSumExp: lse,
            mask: problemMask, implementation: implementation)
        #expect(bg.queries.scalars[4..<8].allSatisfy { $0 == 0 }, "\(path): boolean-masked row dQ \(bg.queries.scalars[4..<8])")
        #expect([bg.queries, bg.keys, bg.values].allSatisfy { $0.scalars.allSatisfy(\.isFinite) }, "\(path): non-finite gradient")
    }

    /// Two runs, and a serial run, give bit-identical gradients (no order-dependent float races),
    /// on a case with several key groups, so the fixed-order dQ reduction is exercised; at every
    /// SIMD level this machine has.
    @Test(arguments: SIMDLevel.available)
    func fusedIsDeterministic(_ level: SIMDLevel) {
        let c = TestSupport.AttentionCase("GQA causal", b: 1, hq: 4, hkv: 2, lq: 200, lk: 300, d: 32, dv: 16, mask: .causal)
        let problem = AttentionProblem(function: "test", queries: [1, 4, 200, 32], keys: [1, 2, 300, 32], values: [1, 2, 300, 16],
                                       scale: nil, mask: .causal, alibiSlopes: nil)
        #expect(FusedAttentionBackward.keyGroups(problem) > 1, "the case should split keys into groups")
        let (q, k, v) = c.inputs()
        let dO = c.outputGradient()
        let path = BackwardPath.fused(level)
        let first = path.run(c, q, k, v, dO), second = path.run(c, q, k, v, dO)
        #expect(first.queries == second.queries && first.keys == second.keys && first.values == second.values,
                "\(level): two fused backward runs differ")
        // One thread (every work item in order on this thread) gives the very same bits as the
        // threaded run, so ATTEND_THREADS cannot change the result.
        let (o, lse) = FusedAttention.forward(problem, queries: q, keys: k, values: v, level: level)
        let serial = FusedAttentionBackward.backward(
            problem, outputGradient: dO, queries: q, keys: k, values: v, output: o, logSumExp: lse, level: level, serial: true)
        #expect(serial.queries == first.queries && serial.keys == first.keys && serial.values == first.values,
                "\(level): serial and threaded fused backward differ")
    }

    /// The number of key groups depends on the shape only, and the extra dQ buffers stay
    /// within the budget even for multi-query attention at N = 16 384.
    @Test func keyGroupsStayWithinTheMemoryBudget() {
        for (hq, hkv) in [(8, 8), (8, 2), (8, 1)] {
            let n = 16_384
            let p = AttentionProblem(function: "test", queries: [1, hq, n, 64], keys: [1, hkv, n, 64], values: [1, hkv, n, 64],
                                     scale: nil, mask: .none, alibiSlopes: nil)
            let groups = FusedAttentionBackward.keyGroups(p)
            let extraFloats = (groups - 1) * hq * n * 64
            #expect(groups >= 1 && extraFloats <= FusedAttentionBackward.partialBudget,
                    "Hq=\(hq) Hkv=\(hkv): \(groups) groups need \(extraFloats) extra floats")
        }
    }

    /// The public function routes every implementation to a result within 1e-4 of the others.
    @Test func publicAPIAgrees() {
        let c = TestSupport.AttentionCase("sliding GQA alibi", b: 2, hq: 4, hkv: 2, lq: 70, lk: 90, d: 16, dv: 24,
                                          mask: .slidingWindow(30), alibi: true)
        let (q, k, v) = c.inputs(seed: 8)
        let dO = c.outputGradient(seed: 9)
        let (o, lse) = scaledDotProductAttentionWithLogSumExp(
            queries: q, keys: k, values: v, mask: c.attentionMask, alibiSlopes: c.slopes)
        let results = AttentionImplementation.allCases.map {
            scaledDotProductAttentionBackward(
                outputGradient: dO, queries: q, keys: k, values: v, output: o, logSumExp: lse,
                mask: c.attentionMask, alibiSlopes: c.slopes, implementation: $0)
        }
        for (implementation, r) in zip(AttentionImplementation.allCases, results) {
            let worst = max(maxAbsDifference(r.queries, results[1].queries), maxAbsDifference(r.keys, results[1].keys),
                            maxAbsDifference(r.values, results[1].values))
            #expect(worst <= 1e-4, "\(implementation) vs reference: max abs difference \(worst)")
        }
    }
}
