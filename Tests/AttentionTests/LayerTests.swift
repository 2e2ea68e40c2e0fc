import Attention
import Foundation
import Testing

/// Linear, norms, GELU, feed-forward and the Transformer block against Float64 loops.
@Suite struct LayerTests {
    /// Shapes `[rows…, width]` of awkward sizes.
    static let shapes: [[Int]] = [[1, 1], [7], [3, 5], [2, 3, 65], [129, 7]]

    static func float64(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

    @Test(arguments: [(1, 1, true), (7, 5, false), (65, 33, true), (3, 129, true)])
    func linearMatchesFloat64(_ inputSize: Int, _ outputSize: Int, _ bias: Bool) {
        let name = "Linear \(inputSize)→\(outputSize) bias:\(bias)"
        var generator = SeededGenerator(seed: 21)
        var layer = Linear(inputSize: inputSize, outputSize: outputSize, bias: bias, standardDeviation: 0.5, generator: &generator)
        if bias { layer.bias = .randomNormal([outputSize], generator: &generator) }
        let x = Tensor.randomNormal([2, 3, inputSize], generator: &generator)
        let y = layer(x)
        #expect(y.shape == [2, 3, outputSize], "\(name)")
        let xs = Self.float64(x), w = Self.float64(layer.weight), b = layer.bias.map(Self.float64)
        var worst = 0.0, magnitude = 0.0
        for r in 0..<6 {
            for o in 0..<outputSize {
                var s = b?[o] ?? 0, absSum = abs(b?[o] ?? 0)
                for i in 0..<inputSize { s += xs[r * inputSize + i] * w[o * inputSize + i]; absSum += abs(xs[r * inputSize + i] * w[o * inputSize + i]) }
                worst = max(worst, abs(Double(y.scalars[r * outputSize + o]) - s))
                magnitude = max(magnitude, absSum)
            }
        }
        // A K-term Float32 dot product errs by at most ~K·ε·Σ|terms|; we allow 2·K·ε.
        let bound = 2 * Double(inputSize + 1) * Double(Float.ulpOfOne) * magnitude
        #expect(worst <= bound, "\(name): error \(worst) > \(bound)")
    }

    @Test(arguments: shapes)
    func layerNormMatchesFloat64(_ shape: [Int]) {
        let n = shape.last!
        var generator = SeededGenerator(seed: 22)
        let norm = LayerNorm(weight: .randomNormal([n], generator: &generator), bias: .randomNormal([n], generator: &generator))
        let x = Tensor.randomNormal(shape, mean: 3, standardDeviation: 2, generator: &generator)
        let y = norm(x), xs = Self.float64(x)
        var worst = 0.0
        for r in 0..<(x.count / n) {
            let row = xs[(r * n)..<((r + 1) * n)]
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            for j in 0..<n {
                let expected = (row[r * n + j] - mean) / (variance + 1e-5).squareRoot() * Double(norm.weight.scalars[j]) + Double(norm.bias!.scalars[j])
                worst = max(worst, abs(Double(y.scalars[r * n + j]) - expected))
            }
        }
        #expect(worst <= 2e-5, "LayerNorm \(shape): error \(worst)")
    }

    @Test(arguments: shapes)
    func rmsNormMatchesFloat64(_ shape: [Int]) {
        let n = shape.last!
        var generator = SeededGenerator(seed: 23)
        let norm = RMSNorm(weight: .randomNormal([n], generator: &generator))
        let x = Tensor.randomNormal(shape, mean: 1, standardDeviation: 2, generator: &generator)
        let y = norm(x), xs = Self.float64(x)
        var worst = 0.0
        for r in 0..<(x.count / n) {
            let meanSquare = xs[(r * n)..<((r + 1) * n)].reduce(0) { $0 + $1 * $1 } / Double(n)
            for j in 0..<n {
                let expected = xs[r * n + j] / (meanSquare + 1e-5).squareRoot() * Double(norm.weight.scalars[j])
                worst = max(worst, abs(Double(y.scalars[r * n + j]) - expected))
            }
        }
        #expect(worst <= 2e-5, "RMSNorm \(shape): error \(worst)")
        #expect(RMSNorm(size: n).namedParameters.map(\.name) == ["weight"])
    }

    @Test(arguments: [GELUApproximation.exact, .tanh])
    func geluMatchesFloat64(_ approximation: GELUApproximation) {
        let values = stride(from: -8.0, through: 8.0, by: 0.0625).map { Float($0) }
        let y = Tensor(shape: [values.count], scalars: values).gelu(approximation)
        var worst = 0.0
        for (x, v) in zip(values.map(Double.init), y.scalars) {
            let expected = approximation == .exact
                ? 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
                : 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            worst = max(worst, abs(Double(v) - expected))
        }
        #expect(worst <= 1e-6, "GELU \(approximation): error \(worst)")
        // The two formulas differ (by up to ~5e-4), so the test would notice a swapped branch.
        #expect(Tensor(shape: [1], scalars: [1.5]).gelu(.exact) != Tensor(shape: [1], scalars: [1.5]).gelu(.tanh))
    }

    @Test(arguments: [GELUApproximation.exact, .tanh])
    func feedForwardMatchesFloat64(_ activation: GELUApproximation) {
        var generator = SeededGenerator(seed: 24)
        let ffn = FeedForward(size: 7, hiddenSize: 13, activation: activation, standardDeviation: 0.5, generator: &generator)
        let x = Tensor.randomNormal([2, 3, 7], generator: &generator)
        let expected = Self.feedForwardReference(ffn, x)
        let error = MultiHeadReference.maxError(ffn(x), expected)
        #expect(error <= 1e-5, "FeedForward \(activation): error \(error)")
        #expect(ffn.namedParameters.map(\.name) == ["up.weight", "up.bias", "down.weight", "down.bias"])
    }

    static func feedForwardReference(_ ffn: FeedForward, _ x: Tensor) -> [Double] {
        let rows = x.count / ffn.size
        let hidden = MultiHeadReference.linear(float64(x), rows: rows, ffn.up).map { h in
            ffn.activation == .exact
                ? 0.5 * h * (1 + erf(h / 2.0.squareRoot()))
                : 0.5 * h * (1 + tanh((2 / Double.pi).squareRoot() * (h + 0.044715 * h * h * h)))
        }
        return MultiHeadReference.linear(hidden, rows: rows, ffn.down)
    }

    static func layerNormReference(_ norm: LayerNorm, _ x: [Double]) -> [Double] {
        let n = norm.size
        var out = x
        for r in 0..<(x.count / n) {
            let row = x[(r * n)..<((r + 1) * n)]
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            for j in 0..<n {
                out[r * n + j] = (row[r * n + j] - mean) / (variance + Double(norm.epsilon)).squareRoot()
                    * Double(norm.weight.scalars[j]) + Double(norm.bias?.scalars[j] ?? 0)
            }
        }
        return out
    }

    /// The block composes its sub-layers as documented, in both placements.
    @Test(arguments: [TransformerBlock.NormalizationPlacement.preNorm, .postNorm])
    func transformerBlockMatchesComposition(_ placement: TransformerBlock.NormalizationPlacement) {
        var generator = SeededGenerator(seed: 25)
        var block = TransformerBlock(modelSize: 12, heads: 3, keyValueHeads: 1, hiddenSize: 20,
                                     placement: placement, standardDeviation: 0.3, generator: &generator)
        block.norm1 = LayerNorm(weight: .randomNormal([12], generator: &generator), bias: .randomNormal([12], generator: &generator))
        let x = Tensor.randomNormal([2, 5, 12], generator: &generator)
        // Float64 composition of the sub-layers' Float64 references.
        func attention(_ h: [Double]) -> [Double] {
            let input = Tensor(shape: [2, 5, 12], scalars: h.map(Float.init))
            var options = MultiHeadReference.Options(); options.causal = true
            return MultiHeadReference.forward(block.attention, x: input, options: options).output
        }
        func ffn(_ h: [Double]) -> [Double] { Self.feedForwardReference(block.feedForward, Tensor(shape: [2, 5, 12], scalars: h.map(Float.init))) }
        func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map(+) }
        let xs = Self.float64(x)
        let expected: [Double]
        switch placement {
        case .preNorm:
            let h = add(xs, attention(Self.layerNormReference(block.norm1, xs)))
            expected = add(h, ffn(Self.layerNormReference(block.norm2, h)))
        case .postNorm:
            let h = Self.layerNormReference(block.norm1, add(xs, attention(xs)))
            expected = Self.layerNormReference(block.norm2, add(h, ffn(h)))
        }
        let y = block(x, mask: .causal)
        // The reference rounds sub-layer inputs to Float32 once per stage; 1e-4 covers that.
        let error = MultiHeadReference.maxError(y, expected)
        #expect(error <= 1e-4, "TransformerBlock \(placement): error \(error)")

        // The cached path gives the same rows, token by token.
        var cache = block.attention.makeCache(batch: 2, capacity: 5)
        let steps = (0..<5).map { block(x.sliced(axis: 1, $0..<($0 + 1)), cache: &cache) }
        let stepError = Tensor.concatenated(steps, axis: 1).maxAbsDifference(y)
        #expect(stepError <= 1e-5, "TransformerBlock \(placement) cached: error \(stepError)")

        let names = block.namedParameters.map(\.name)
        #expect(names.first == "norm1.weight" && names.contains("attention.wq.weight") && names.last == "feedForward.down.bias",
                "\(names)")
    }

    @Test func embeddingLooksUpRows() {
        var generator = SeededGenerator(seed: 26)
        let embedding = Embedding(vocabularySize: 11, size: 3, generator: &generator)
        let ids = [0, 10, 4, 4]
        let rows = embedding(ids)
        for (r, id) in ids.enumerated() {
            #expect(Array(rows.scalars[(r * 3)..<(r * 3 + 3)]) == Array(embedding.weight.scalars[(id * 3)..<(id * 3 + 3)]), "id \(id)")
        }
    }

    @Test func seededInitIsReproducible() {
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        let x = TransformerBlock(modelSize: 8, heads: 2, generator: &a), y = TransformerBlock(modelSize: 8, heads: 2, generator: &b)
        #expect(x.namedParameters.map(\.tensor) == y.namedParameters.map(\.tensor))
    }
}
