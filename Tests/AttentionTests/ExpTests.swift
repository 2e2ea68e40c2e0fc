import Attention
import CKernels
import Foundation
import Testing
import TestSupport

/// The package's one exp (`ak_exp` in CKernels' `include/ak_math.h`; the SIMD kernels evaluate the
/// same steps lane by lane, `ak_simd_math.h`, and `Tests/CKernelsNative` checks each level's
/// vector exp the same way): its accuracy, and the consistency it buys between the fused forward
/// and backward.
@Suite struct ExpTests {
    /// Within 1.02 ulp of the Float64 exp on every 997th float of [−87.33, 88] (where exp is a
    /// normal float), relative error ≤ 8.5e-8 (the full sweep of every float, done once in C,
    /// gives 1.0103 ulp with FMA contraction and 0.9903 without); exact at 0, 0 at −∞ and below
    /// −87.7, NaN for NaN.
    @Test func scalarExpIsWithinOneUlpOfFloat64() {
        var worstUlps = 0.0, worstRelative = 0.0, worstX: Float = 0
        for (from, to) in [(Float(-0.0), Float(-87.33)), (Float(0), Float(88))] {
            var bits = UInt64(from.bitPattern)
            while bits <= UInt64(to.bitPattern) {
                let x = Float(bitPattern: UInt32(bits))
                let want = Foundation.exp(Double(x))
                let error = abs(Double(ak_exp(x)) - want)
                let ulp = Double(sign: .plus, exponent: want.exponent - 23, significand: 1)
                if error / ulp > worstUlps { worstUlps = error / ulp; worstX = x }
                worstRelative = max(worstRelative, error / want)
                bits += 997
            }
        }
        #expect(worstUlps <= 1.02, "ak_exp: \(worstUlps) ulp at \(worstX)")
        #expect(worstRelative <= 8.5e-8, "ak_exp: relative error \(worstRelative)")
        #expect(ak_exp(0) == 1)
        #expect(ak_exp(-.infinity) == 0 && ak_exp(-88) == 0 && ak_exp(-87.7) == 0 && ak_exp(-1000) == 0)
        #expect(ak_exp(.nan).isNaN)
        #expect(abs(Double(ak_exp(1)) - M_E) <= 2.4e-7)
    }

    /// The backward recomputes `P = exp(S − lse)` from the forward's log-sum-exp with the
    /// forward's exp and the forward's scores (bit for bit), so every row of P sums to 1 within
    /// the rounding of the stored lse (half an ulp of lse[i], which scales the whole row) plus
    /// 8·2⁻²⁴ (the exps, the forward's running sum and log, the row sum) at every SIMD level, for
    /// any scale and score size. With `dO` one-hot (Dv = Lq), `dV[j, i] = P(i, j)` exactly.
    /// (Before one exp, with a base-2 forward and a Cephes or libm backward, the excess grew with
    /// the scores: up to 80·2⁻²⁴ for scores of a few units.)
    @Test(arguments: [(false, Float(1)), (true, Float(1)), (false, Float(3)), (true, Float(3))])
    func backwardProbabilityRowsSumToOneAgainstTheForwardsLogSumExp(causal: Bool, spread: Float) {
        let lq = 40, lk = 150, d = 48
        let c = TestSupport.AttentionCase("P rows", b: 1, hq: 1, hkv: 1, lq: lq, lk: lk, d: d, dv: lq,
                                          mask: causal ? .causal : .none)
        let (q0, k, v) = c.inputs(seed: 7)
        let q = q0 * spread
        var oneHot = [Float](repeating: 0, count: lq * lq)
        for i in 0..<lq { oneHot[i * lq + i] = 1 }
        let dO = Tensor(shape: [1, 1, lq, lq], scalars: oneHot)
        let problem = AttentionProblem(function: "test", queries: q.shape, keys: k.shape, values: v.shape,
                                       scale: c.scale, mask: c.attentionMask, alibiSlopes: nil)
        for level in SIMDLevel.available {
            let (o, lse) = FusedAttention.forward(problem, queries: q, keys: k, values: v, level: level)
            let grads = FusedAttentionBackward.backward(problem, outputGradient: dO, queries: q, keys: k, values: v,
                                                        output: o, logSumExp: lse, level: level)
            let p = grads.values.scalars   // [lk, lq]: p[j·lq + i] = P(i, j)
            var worst = -Double.infinity
            for i in 0..<lq {
                var sum = 0.0
                for j in 0..<lk { sum += Double(p[j * lq + i]) }
                let halfUlp = Double(lse.scalars[i].ulp) / 2
                worst = max(worst, (abs(sum - 1) - halfUlp) * 0x1p24)
            }
            #expect(worst <= 8, "\(level) causal \(causal) spread \(spread): rows of P sum to 1 ± (ulp(lse)/2 + \(worst)·2⁻²⁴)")
        }
    }
}
