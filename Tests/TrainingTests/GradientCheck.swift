import Attention
import Testing
import Training

/// One differentiable computation to check: named inputs and a forward on the tape.
struct GradientCase: CustomStringConvertible, Sendable {
    let name: String
    let inputs: [Tensor]
    /// Builds the output from the inputs (registered as parameters `x0`, `x1`, …).
    let forward: @Sendable ([Variable]) -> Variable
    /// Indices of inputs to check (others are held constant but still registered).
    var checked: [Int]? = nil
    var description: String { name }
}

/// Central-difference gradient check.
///
/// The scalar checked is `L = Σ y ⊙ R` with `R` a fixed random projection (so every output
/// element matters with a different weight); `L` is accumulated in Float64 from the Float32
/// forward so the sum adds no rounding of its own.
///
/// Error budget (why the tolerance is what it is): each evaluation of `y` carries a relative
/// rounding error of a few Float32 ulps, `|δL| ≲ c·u·Σ|y·R|` with `u = 6e-8` and `c` ~ the
/// depth of the computation (≤ ~30 here); dividing by `2h` with `h = 1e-2` gives an absolute
/// error ≲ 30·6e-8·Σ|y·R|/0.02 ≈ 1e-4·Σ|y·R|. The truncation error of central differences is
/// `h²/6·|L‴|` ≈ 2e-5·|L‴|. Our cases keep `Σ|y·R|` ≲ 10 and `L‴` of order 1, so the finite
/// difference is good to ~1e-3 absolute; we require `|analytic − numeric| ≤ 2e-3 + 1e-2·|numeric|`.
/// A wrong backward rule (missing term, wrong transpose, wrong broadcast axis) is off by O(1).
enum GradientChecker {
    static let step: Float = 1e-2

    /// Returns a failure line per mismatched element (empty when every gradient matches).
    static func check(_ c: GradientCase, seed: UInt64 = 7, maximumElementsPerInput: Int = 48) -> [String] {
        // Analytic gradients from the tape.
        let tape = Tape(seed: 99)
        let variables = c.inputs.enumerated().map { tape.parameter("x\($0.offset)", $0.element) }
        let y = c.forward(variables)
        let projection = Tensor.randomUniform(y.shape, low: -1, high: 1, seed: seed)
        let loss = (y * tape.constant(projection)).sum()
        let gradients: Gradients
        do { gradients = try tape.backward(loss) } catch { return ["\(c.name): backward threw \(error)"] }

        func evaluate(_ inputs: [Tensor]) -> Double {
            let t = Tape(seed: 99)
            let vs = inputs.enumerated().map { t.parameter("x\($0.offset)", $0.element) }
            let out = c.forward(vs).value
            var s = 0.0
            for i in 0..<out.count { s += Double(out.scalars[i]) * Double(projection.scalars[i]) }
            return s
        }

        var failures: [String] = []
        for k in c.checked ?? Array(c.inputs.indices) {
            let input = c.inputs[k]
            let analytic = gradients["x\(k)"] ?? .zeros(input.shape)
            let stride = max(1, input.count / maximumElementsPerInput)
            for e in Swift.stride(from: 0, to: input.count, by: stride) {
                var plus = c.inputs, minus = c.inputs
                plus[k].withUnsafeMutableBufferPointer { $0[e] += step }
                minus[k].withUnsafeMutableBufferPointer { $0[e] -= step }
                let numeric = (evaluate(plus) - evaluate(minus)) / (2 * Double(step))
                let a = Double(analytic.scalars[e])
                if !(abs(a - numeric) <= 2e-3 + 1e-2 * abs(numeric)) {
                    failures.append("\(c.name): input x\(k) \(input.shape) element \(e): analytic \(a), numeric \(numeric)")
                }
            }
        }
        return failures
    }
}

/// Deterministic test data.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    Tensor.randomNormal(shape, standardDeviation: scale, seed: seed)
}
