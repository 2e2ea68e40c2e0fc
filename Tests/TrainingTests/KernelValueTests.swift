import Attention
import Foundation
import Testing
import Training

/// Forward values of the C row kernels (polynomial exp and tanh, vectorised reductions)
/// against Float64 on awkward widths (1, 7, 65, 129, 257: not multiples of the 8-wide
/// vectors). Error budget: a few Float32 ulps per element plus the rounding of a Float32 sum
/// of `C` terms, `~C·6e-8` relative, so 1e-5 relative to the row's magnitude.
@Suite struct KernelValueTests {
    static let widths = [1, 7, 65, 129, 257]

    static func rows(_ width: Int, seed: UInt64, scale: Float = 3) -> Tensor {
        randomTensor([3, width], seed: seed, scale: scale)
    }

    @Test(arguments: widths)
    func softmaxMatchesFloat64(_ width: Int) {
        var x = Self.rows(width, seed: UInt64(width))
        // Row 1: some keys masked; row 2: every key masked (must become zeros, not NaN).
        x.withUnsafeMutableBufferPointer { p in
            for j in stride(from: 0, to: width, by: 2) where width > 1 { p[width + j] = -.infinity }
            for j in 0..<width { p[2 * width + j] = -.infinity }
        }
        let y = Tape().constant(x).softmax().value
        for r in 0..<3 {
            let row = (0..<width).map { Double(x.scalars[r * width + $0]) }
            let m = row.max()!
            let e = row.map { m == -.infinity ? 0 : exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<width {
                let expected = s == 0 ? 0 : e[j] / s
                #expect(abs(Double(y.scalars[r * width + j]) - expected) <= 1e-6, "width \(width) row \(r) col \(j)")
            }
        }
    }

    @Test(arguments: widths)
    func crossEntropyMatchesFloat64(_ width: Int) {
        let x = Self.rows(width, seed: 40 + UInt64(width), scale: 30)  // large logits: stability
        let targets = [0, width - 1, width / 2]
        let loss = Tape().constant(x).crossEntropy(targets: targets).value.scalars[0]
        var expected = 0.0
        for r in 0..<3 {
            let row = (0..<width).map { Double(x.scalars[r * width + $0]) }
            let m = row.max()!
            expected += m + log(row.map { exp($0 - m) }.reduce(0, +)) - row[targets[r]]
        }
        expected /= 3
        #expect(abs(Double(loss) - expected) <= 1e-5 * max(1, abs(expected)) + 1e-5, "width \(width): \(loss) vs \(expected)")
    }

    @Test(arguments: widths, [true, false])
    func normalizationMatchesFloat64(_ width: Int, _ centred: Bool) {
        let x = Self.rows(width, seed: 60 + UInt64(width)).map { $0 + 2 }  // nonzero mean
        let gamma = randomTensor([width], seed: 1), beta = randomTensor([width], seed: 2)
        let tape = Tape()
        let y = centred
            ? tape.constant(x).layerNorm(weight: tape.constant(gamma), bias: tape.constant(beta)).value
            : tape.constant(x).rmsNorm(weight: tape.constant(gamma), epsilon: 1e-5).value
        for r in 0..<3 {
            let row = (0..<width).map { Double(x.scalars[r * width + $0]) }
            let mean = centred ? row.reduce(0, +) / Double(width) : 0
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            let rstd = 1 / (variance + 1e-5).squareRoot()
            for j in 0..<width {
                let expected = (row[j] - mean) * rstd * Double(gamma.scalars[j]) + (centred ? Double(beta.scalars[j]) : 0)
                #expect(abs(Double(y.scalars[r * width + j]) - expected) <= 1e-5 * max(1, abs(expected)),
                        "\(centred ? "layerNorm" : "rmsNorm") width \(width) row \(r) col \(j)")
            }
        }
    }

    /// GELU (tanh form) over [−12, 12], fused with a Linear (bias + GELU in one pass) and
    /// alone: the rational tanh is within 4e-7 absolute of tanh, so |error| ≤ 1e-6·max(1, |x|).
    @Test func geluMatchesFloat64() {
        let x = Tensor(shape: [1, 2401], scalars: (0..<2401).map { Float($0 - 1200) / 100 })
        let y = Tape().constant(x).gelu(.tanh).value
        for (xi, yi) in zip(x.scalars, y.scalars) {
            let d = Double(xi)
            let expected = 0.5 * d * (1 + tanh(0.7978845608028654 * (d + 0.044715 * d * d * d)))
            #expect(abs(Double(yi) - expected) <= 1e-6 * max(1, abs(d)), "gelu(\(xi)) = \(yi), expected \(expected)")
        }
        var g = SeededGenerator(seed: 2)
        let layer = Linear(inputSize: 7, outputSize: 65, standardDeviation: 1, generator: &g)
        let input = randomTensor([5, 7], seed: 3)
        let fused = layer(Tape().constant(input), prefix: "fc", activation: .tanh).value
        #expect(fused.maxAbsDifference(layer(input).gelu(.tanh)) <= 1e-5)
    }
}
