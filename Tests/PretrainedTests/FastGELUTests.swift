import Attention
import Foundation
import Pretrained
import Testing

/// The vectorisable erf behind the encoder's GELU against libm's `erf` in Float64.
@Suite struct FastGELUTests {
    @Test func fastErfIsWithinItsErrorBound() {
        var worst = 0.0, worstAt: Float = 0
        for step in -80_000...80_000 {
            let x = Float(step) / 10_000  // −8 … 8 in steps of 10⁻⁴
            let error = abs(Double(fastErf(x)) - erf(Double(x)))
            if error > worst { worst = error; worstAt = x }
        }
        #expect(worst <= 5e-7, "max |fastErf − erf| = \(worst) at x = \(worstAt)")
    }

    @Test(arguments: [GELUApproximation.exact, .tanh])
    func geluMatchesTheReadableReference(approximation: GELUApproximation) {
        let x = Tensor.randomNormal([7, 129], standardDeviation: 3, seed: 11)
        var fast = x
        fast.applyGELU(approximation)
        let reference = x.gelu(approximation)
        let worst = zip(fast.scalars, reference.scalars).enumerated().map { i, pair in
            abs(pair.0 - pair.1) / (1 + abs(x.scalars[i]))
        }.max() ?? 0
        #expect(worst <= 1.5e-6, "\(approximation): max |Δ|/(1+|x|) = \(worst)")
    }
}
