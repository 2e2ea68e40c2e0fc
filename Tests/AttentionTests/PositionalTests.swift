import Attention
import Foundation
import Testing

@Suite struct PositionalTests {
    @Test(arguments: [(1, 0), (7, 3), (16, 100), (65, 5000)])
    func sinusoidalMatchesFormula(_ size: Int, _ start: Int) {
        let encoding = SinusoidalPositionalEncoding(size: size)
        let table = encoding.encodings(positions: start..<(start + 9))
        var worst = 0.0
        for row in 0..<9 {
            let pos = Double(start + row)
            for i in 0..<((size + 1) / 2) {
                let angle = pos / pow(10_000, Double(2 * i) / Double(size))
                worst = max(worst, abs(Double(table[row, 2 * i]) - sin(angle)))
                if 2 * i + 1 < size { worst = max(worst, abs(Double(table[row, 2 * i + 1]) - cos(angle))) }
            }
        }
        // Float32 rounding of values in [−1, 1]: half an ulp of 1 is 6e-8.
        #expect(worst <= 1e-7, "sinusoidal d\(size) start \(start): error \(worst)")
        // Added to [B, L, d] inputs row by row.
        let x = Tensor.randomNormal([2, 9, size], seed: 1)
        let y = encoding(x, startPosition: start)
        #expect(y.maxAbsDifference(x + table) == 0, "sinusoidal d\(size) start \(start)")
    }

    @Test func learnedEmbeddingAddsRows() {
        var generator = SeededGenerator(seed: 2)
        let positions = LearnedPositionalEmbedding(maximumLength: 10, size: 3, generator: &generator)
        let x = Tensor.randomNormal([2, 4, 3], generator: &generator)
        let y = positions(x, startPosition: 5)
        for b in 0..<2 {
            for l in 0..<4 {
                for e in 0..<3 { #expect(y[b, l, e] == x[b, l, e] + positions.weight[5 + l, e], "b\(b) l\(l) e\(e)") }
            }
        }
        #expect(positions.namedParameters.map(\.name) == ["weight"])
    }

    @Test func learnedEmbeddingPastItsTableStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var generator = SeededGenerator(seed: 2)
            let positions = LearnedPositionalEmbedding(maximumLength: 4, size: 3, generator: &generator)
            _ = positions(Tensor.zeros([1, 3, 3]), startPosition: 2)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("positions 2..<5 outside 0..<4 (weight [4, 3])"), "stderr: \(message)")
    }

    /// RoPE against the rotate-half formula in Float64, including positions past the table.
    @Test(arguments: [(2, 0, 16), (6, 3, 16), (64, 2040, 2048), (10, 0, 0)])
    func ropeMatchesFormula(_ d: Int, _ start: Int, _ tableLength: Int) {
        let rope = RotaryEmbedding(headDimension: d, tableLength: tableLength)
        let x = Tensor.randomNormal([2, 3, 11, d], seed: 3)
        let y = rope(x, startPosition: start)
        var worst = 0.0
        for o in 0..<6 {
            for l in 0..<11 {
                let base = (o * 11 + l) * d
                let v = x.scalars[base..<(base + d)].map(Double.init)
                let expected = MultiHeadReference.rope(v, position: start + l, base: 10_000)
                for e in 0..<d { worst = max(worst, abs(Double(y.scalars[base + e]) - expected[e])) }
            }
        }
        // Angles up to ~2000 rad are rounded to Float32 once (cos/sin tables): ~1e-6 relative.
        #expect(worst <= 5e-6, "RoPE D\(d) start \(start) table \(tableLength): error \(worst)")
        let back = rope(y, startPosition: start, inverse: true)
        #expect(back.maxAbsDifference(x) <= 1e-5, "RoPE D\(d) inverse")
    }

    /// `rope(q, m)·rope(k, n)` depends only on `m − n`.
    @Test(arguments: [(8, 0, 5, 17), (32, 3, 0, 100), (64, 10, 10, 1500)])
    func ropeScoresDependOnRelativeOffset(_ d: Int, _ m: Int, _ n: Int, _ shift: Int) {
        let rope = RotaryEmbedding(headDimension: d)
        let q = Tensor.randomNormal([1, 1, 1, d], seed: 4), k = Tensor.randomNormal([1, 1, 1, d], seed: 5)
        func score(_ m: Int, _ n: Int) -> Double {
            zip(rope(q, startPosition: m).scalars, rope(k, startPosition: n).scalars).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        let a = score(m, n), b = score(m + shift, n + shift)
        #expect(abs(a - b) <= 2e-5 * Double(d), "RoPE D\(d) (\(m), \(n)) shifted by \(shift): \(a) vs \(b)")
        // … and does depend on the offset.
        #expect(abs(a - score(m + 1, n)) > 1e-4, "RoPE D\(d): offset should matter")
    }

    @Test func ropeRejectsOddHeadDimension() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = RotaryEmbedding(headDimension: 7)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("headDimension must be even and positive, got 7"), "stderr: \(message)")
    }

    @Test func alibiSlopesForEightHeads() {
        let slopes = alibiSlopes(heads: 8)
        #expect(slopes == (1...8).map { Float(pow(2.0, -Double($0))) }, "\(slopes)")
    }

    @Test(arguments: [1, 2, 3, 5, 6, 12, 16, 20])
    func alibiSlopesMatchReferenceFormula(_ heads: Int) {
        let slopes = alibiSlopes(heads: heads), expected = MultiHeadReference.alibiSlopes(heads)
        #expect(slopes.count == heads, "heads \(heads)")
        let error = zip(slopes, expected).reduce(0.0) { max($0, abs(Double($1.0) - $1.1) / $1.1) }
        #expect(error <= 1e-6, "ALiBi heads \(heads): relative error \(error); got \(slopes), want \(expected)")
    }

    /// The attention layer hands ALiBi to the kernel: its weights equal a softmax over scores
    /// with the explicit `−slope·distance` bias.
    @Test func layerIntermediatesExposeEveryStage() {
        let c = AttentionCase(batch: 2, length: 6, modelSize: 12, heads: 3, keyValueHeads: 1, causal: true, positions: "alibi")
        let layer = c.layer(), x = c.input()
        let parts = layer.intermediates(x, mask: .causal)
        #expect(parts.queries.shape == [2, 3, 6, 4] && parts.keys.shape == [2, 1, 6, 4] && parts.values.shape == [2, 1, 6, 4])
        #expect(parts.scores.shape == [2, 3, 6, 6] && parts.weights.shape == [2, 3, 6, 6])
        #expect(parts.headOutputs.shape == [2, 3, 6, 4] && parts.concatenated.shape == [2, 6, 12])
        #expect(parts.output.maxAbsDifference(layer(x, mask: .causal)) <= 1e-5)
        let reference = MultiHeadReference.forward(layer, x: x, options: c.referenceOptions)
        #expect(MultiHeadReference.maxError(parts.weights, reference.weights) <= 1e-5)
        #expect(parts.scores[0, 0, 1, 2] == -.infinity)
        // Head 1 of row 4 by hand: q·k·scale − slope·(i − j).
        let slope = Double(alibiSlopes(heads: 3)[1])
        var dot = 0.0
        for e in 0..<4 { dot += Double(parts.queries[1, 1, 4, e]) * Double(parts.keys[1, 0, 1, e]) }
        #expect(abs(Double(parts.scores[1, 1, 4, 1]) - (dot / 2 - slope * 3)) <= 1e-5)
    }
}
