import Attention
import Testing
import TestSupport

/// The forward code paths the tests exercise: the materialising reference and the fused kernel
/// at each SIMD level.
enum ForwardPath: Equatable, Sendable, CustomStringConvertible {
    case reference
    case fused(SIMDLevel)

    /// The fused kernel at the process-wide level (what the package runs).
    static var fusedSIMD: ForwardPath { .fused(.current) }
    static var fusedPortable: ForwardPath { .fused(.portable) }
    /// The reference and the fused kernel at every SIMD level this machine has (portable
    /// included); levels it lacks are reported as skipped by `SIMDLevelTests`.
    static var allCases: [ForwardPath] { [.reference] + SIMDLevel.available.map { .fused($0) } }

    var description: String {
        switch self {
        case .reference: return "reference"
        case .fused(let level): return "fused \(level)"
        }
    }

    func run(_ c: TestSupport.AttentionCase, _ q: Tensor, _ k: Tensor, _ v: Tensor) -> (output: Tensor, logSumExp: Tensor) {
        let problem = AttentionProblem(
            function: "test", queries: q.shape, keys: k.shape, values: v.shape,
            scale: c.scale, mask: c.attentionMask, alibiSlopes: c.slopes)
        switch self {
        case .reference: return ReferenceAttention.forward(problem, queries: q, keys: k, values: v)
        case .fused(let level): return FusedAttention.forward(problem, queries: q, keys: k, values: v, level: level)
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

extension TestSupport.AttentionCase {
    /// Forward-only cases on top of the shared grid: several query blocks and key tiles with
    /// ragged ends (65, 129, 257 are one past the 64-wide tiles), a window wider than a tile,
    /// a value width that is not a multiple of the 16-wide register blocks, D = 128, and keys
    /// long enough for larger query blocks.
    static let forwardGrid: [TestSupport.AttentionCase] = [
        TestSupport.AttentionCase("none blocks", b: 1, hq: 2, hkv: 1, lq: 129, lk: 257, d: 64, dv: 40),
        TestSupport.AttentionCase("causal blocks Lq<Lk", b: 1, hq: 2, hkv: 2, lq: 65, lk: 257, d: 33, dv: 64, mask: .causal),
        TestSupport.AttentionCase("causal blocks Lq>Lk", b: 1, hq: 1, hkv: 1, lq: 257, lk: 129, d: 16, dv: 7, mask: .causal),
        TestSupport.AttentionCase("sliding 100", b: 1, hq: 1, hkv: 1, lq: 257, lk: 257, d: 16, dv: 16, mask: .slidingWindow(100)),
        TestSupport.AttentionCase("keyPadding blocks", b: 2, hq: 1, hkv: 1, lq: 65, lk: 257, d: 128, dv: 1, mask: .keyPadding([200, 64])),
        TestSupport.AttentionCase("alibi sliding", b: 1, hq: 2, hkv: 1, lq: 129, lk: 129, d: 8, dv: 24, mask: .slidingWindow(70), alibi: true),
        // Lk ≥ 4096 switches the fused path to 128-row query blocks.
        TestSupport.AttentionCase("long keys causal", b: 1, hq: 1, hkv: 1, lq: 131, lk: 4100, d: 8, dv: 8, mask: .causal),
    ]
}

@Suite struct AttentionForwardTests {
    /// Every mask kind on every path against Float64, within 1e-5, and within the error budget:
    /// the fused kernel may be at most ~2× as far from Float64 as the naive Float32 reference.
    @Test(arguments: TestSupport.AttentionCase.grid + TestSupport.AttentionCase.forwardGrid)
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

    /// `.automatic` is the fused kernel (bit for bit) and `.reference` the materialising path.
    @Test func automaticPicksTheFusedKernel() {
        let c = TestSupport.AttentionCase("pick", b: 1, hq: 2, hkv: 1, lq: 70, lk: 90, d: 16, dv: 8, mask: .causal)
        let (q, k, v) = c.inputs(seed: 5)
        let automatic = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal)
        #expect(automatic == ForwardPath.fusedSIMD.run(c, q, k, v).output)
        let reference = scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, implementation: .reference)
        #expect(reference == ForwardPath.reference.run(c, q, k, v).output)
    }

    /// Rows that may attend to nothing, on every path: an additive mask that is −inf across a
    /// whole row, a boolean mask that is all zeros on a row, and causal rows before the first key
    /// (Lq > Lk) give exact zeros and log-sum-exp −inf, never NaN; the other rows are unaffected.
    @Test func rowsWithNoAllowedKeyAreZero() {
        let (b, h, lq, lk) = (1, 2, 70, 40)
        var g = SeededGenerator(seed: 11)
        let q = Tensor.randomNormal([b, h, lq, 16], generator: &g)
        let k = Tensor.randomNormal([b, 1, lk, 16], generator: &g)
        let v = Tensor.randomNormal([b, 1, lk, 8], generator: &g)
        let emptyRows: Set<Int> = [0, 5, 63, 64, 69]
        var additive = [Float](repeating: 0, count: lq * lk), boolean = [Float](repeating: 1, count: lq * lk)
        for i in emptyRows {
            for j in 0..<lk { additive[i * lk + j] = -.infinity; boolean[i * lk + j] = 0 }
        }
        let masks: [(String, AttentionMask, Set<Int>)] = [
            ("additive", .additive(Tensor(shape: [lq, lk], scalars: additive)), emptyRows),
            ("boolean", .boolean(Tensor(shape: [1, 1, lq, lk], scalars: boolean)), emptyRows),
            ("causal Lq>Lk", .causal, Set(0..<(lq - lk))),
        ]
        for (name, mask, empty) in masks {
            for implementation in [AttentionImplementation.reference, .fused] {
                let (output, lse) = scaledDotProductAttentionWithLogSumExp(
                    queries: q, keys: k, values: v, mask: mask, implementation: implementation)
                #expect(!output.scalars.contains { $0.isNaN }, "\(name) \(implementation): NaN in output")
                for head in 0..<h {
                    for i in 0..<lq {
                        let row = output.scalars[((head * lq) + i) * 8..<((head * lq) + i + 1) * 8]
                        let rowLSE = lse.scalars[head * lq + i]
                        if empty.contains(i) {
                            #expect(row.allSatisfy { $0 == 0 } && rowLSE == -.infinity, "\(name) \(implementation) row \(i)")
                        } else {
                            #expect(row.contains { $0 != 0 } && rowLSE.isFinite, "\(name) \(implementation) row \(i)")
                        }
                    }
                }
            }
            let problem = AttentionProblem(
                function: "test", queries: q.shape, keys: k.shape, values: v.shape, scale: nil, mask: mask, alibiSlopes: nil)
            let portable = FusedAttention.forward(problem, queries: q, keys: k, values: v, level: .portable)
            for level in SIMDLevel.available where level != .portable {
                let simd = FusedAttention.forward(problem, queries: q, keys: k, values: v, level: level)
                #expect(Float64Reference.maxAbsError(portable.output, simd.output.scalars.map(Double.init)) <= 1e-5, "\(name): portable vs \(level)")
                #expect(portable.logSumExp.scalars.map(\.isFinite) == simd.logSumExp.scalars.map(\.isFinite), "\(name): empty rows differ at \(level)")
            }
        }
    }
}
