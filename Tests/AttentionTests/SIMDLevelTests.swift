import Attention
import Testing
import TestSupport

/// One test per SIMD level: it runs where the machine has the level and is reported as skipped,
/// by name, where it does not. (The parameterized GEMM, forward and backward tests already run
/// every available level on their whole grids; these make the levels that were *not* tested
/// visible, and check each level against the portable kernels directly.)
@Suite struct SIMDLevelTests {
    @Test func levelsAreNamedAndClampDownward() {
        #expect(SIMDLevel.portable.isAvailable, "portable is always available")
        #expect(SIMDLevel.current.isAvailable, "the process-wide level \(SIMDLevel.current) must be available")
        #expect(SIMDLevel.current.rawValue <= SIMDLevel.detected.rawValue, "ATTEND_SIMD can only lower the level")
        #expect(SIMDLevel.allCases.map(\.name) == ["portable", "neon", "avx2+fma", "avx512"])
        for level in SIMDLevel.allCases {
            let clamped = level.clamped
            #expect(clamped.isAvailable && clamped.rawValue <= level.rawValue, "\(level) runs at \(clamped)")
            #expect(level.isAvailable == (clamped == level), "\(level): available iff it clamps to itself")
        }
        #expect(SIMDLevel.available.first == .portable && SIMDLevel.available.contains(SIMDLevel.detected))
    }

    @Test(.enabled(if: SIMDLevel.avx2.isAvailable, "AVX2+FMA not on this CPU: its kernels are not tested here"))
    func avx2KernelsAgreeWithPortableAndFloat64() { Self.check(.avx2) }

    @Test(.enabled(if: SIMDLevel.avx512.isAvailable,
                   "AVX-512 F/BW/DQ/VL (with OS-enabled ZMM state) not on this machine: its kernels are not tested here"))
    func avx512KernelsAgreeWithPortableAndFloat64() { Self.check(.avx512) }

    @Test(.enabled(if: SIMDLevel.neon.isAvailable,
                   "NEON is arm64 only: its GEMM and attention kernels are not tested here (scripts/test_neon_qemu.sh runs them under qemu)"))
    func neonKernelsAgreeWithPortableAndFloat64() { Self.check(.neon) }

    /// GEMM (packed and few-row) within the Float64 error budget; the fused forward within 1e-5
    /// of the portable kernel and the backward within 1e-4, on awkward cases of both grids.
    static func check(_ level: SIMDLevel) {
        #expect(level.clamped == level)
        for spec in GemmCase.all where spec.m * spec.n * spec.k <= 1 << 22 {
            let problem = GemmProblem(spec, seed: UInt64(spec.m + 31 * spec.n + 977 * spec.k))
            for path in [GemmPath.packedSIMD, .rowsSIMD] {
                let c = problem.run(path, level: level)
                var worst = 0.0
                for i in 0..<spec.m {
                    for j in 0..<spec.n {
                        let e = i * spec.ldc + j
                        worst = max(worst, abs(Double(c[e]) - problem.reference[e]) / problem.bound(e))
                    }
                }
                #expect(worst <= 1, "\(spec.testDescription) \(path) at \(level): \(worst)× the budget")
            }
        }
        let cases = [TestSupport.AttentionCase.grid[0], TestSupport.AttentionCase.grid[4]]
            + TestSupport.AttentionCase.forwardGrid.prefix(3) + TestSupport.AttentionCase.backwardGrid.prefix(3)
        for c in cases {
            let (q, k, v) = c.inputs()
            let dO = c.outputGradient()
            let portable = BackwardPath.fused(.portable).run(c, q, k, v, dO)
            let simd = BackwardPath.fused(level).run(c, q, k, v, dO)
            let forwardPortable = ForwardPath.fused(.portable).run(c, q, k, v)
            let forwardSIMD = ForwardPath.fused(level).run(c, q, k, v)
            #expect(maxAbsDifference(forwardPortable.output, forwardSIMD.output) <= 1e-5, "\(c) forward at \(level) vs portable")
            let differences = [
                maxAbsDifference(portable.queries, simd.queries), maxAbsDifference(portable.keys, simd.keys),
                maxAbsDifference(portable.values, simd.values),
            ]
            #expect(differences.max()! <= 1e-4, "\(c) backward at \(level) vs portable: \(differences)")
            let expected = c.float64(q, k, v)
            #expect(Float64Reference.maxAbsError(forwardSIMD.output, expected.output) <= 1e-5, "\(c) forward at \(level) vs Float64")
        }
    }
}
