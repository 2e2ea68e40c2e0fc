import Attention
import Testing
import Training

/// Central-difference check of a layer's differentiable forward with respect to its input and
/// every named parameter (same projection and error budget as `GradientChecker`).
enum LayerGradientChecker {
    static func check<Layer: ParameterContainer>(
        _ name: String, layer: Layer, input: Tensor, prefix: String = "layer",
        maximumElementsPerTensor: Int = 24,
        forward: (Layer, Variable) -> Variable
    ) -> [String] {
        let tape = Tape(seed: 5)
        let x = tape.parameter("input", input)
        let y = forward(layer, x)
        let projection = Tensor.randomUniform(y.shape, low: -1, high: 1, seed: 11)
        let gradients: Gradients
        do { gradients = try tape.backward((y * tape.constant(projection)).sum()) } catch { return ["\(name): backward threw \(error)"] }

        func evaluate(_ l: Layer, _ inp: Tensor) -> Double {
            let t = Tape(seed: 5)
            let out = forward(l, t.parameter("input", inp)).value
            var s = 0.0
            for i in 0..<out.count { s += Double(out.scalars[i]) * Double(projection.scalars[i]) }
            return s
        }
        let h = GradientChecker.step
        var failures: [String] = []
        func compare(_ what: String, _ analytic: Tensor?, _ e: Int, _ numeric: Double) {
            let a = Double(analytic?.scalars[e] ?? 0)
            if !(abs(a - numeric) <= 2e-3 + 1e-2 * abs(numeric)) {
                failures.append("\(name): \(what) element \(e): analytic \(a), numeric \(numeric)")
            }
        }
        for e in stride(from: 0, to: input.count, by: max(1, input.count / maximumElementsPerTensor)) {
            var plus = input, minus = input
            plus.withUnsafeMutableBufferPointer { $0[e] += h }
            minus.withUnsafeMutableBufferPointer { $0[e] -= h }
            compare("input \(input.shape)", gradients["input"], e, (evaluate(layer, plus) - evaluate(layer, minus)) / (2 * Double(h)))
        }
        for (parameter, tensor) in layer.namedParameters {
            let full = Layer.join(prefix, parameter)
            #expect(gradients[full] != nil, "\(name): no gradient for \(full)")
            for e in stride(from: 0, to: tensor.count, by: max(1, tensor.count / maximumElementsPerTensor)) {
                var plus = layer, minus = layer
                plus.visitParameters(prefix: "") { n, t in if n == parameter { t.withUnsafeMutableBufferPointer { $0[e] += h } } }
                minus.visitParameters(prefix: "") { n, t in if n == parameter { t.withUnsafeMutableBufferPointer { $0[e] -= h } } }
                compare("\(full) \(tensor.shape)", gradients[full], e, (evaluate(plus, input) - evaluate(minus, input)) / (2 * Double(h)))
            }
        }
        return failures
    }
}
