import Attention
import Foundation

/// Seed 004's question "does self-attention know word order?", answered by measurement: a
/// seeded multi-head layer on word vectors, run on the sentence and on a permutation π of it.
///
/// Without positions attention is permutation-equivariant: `Attn(P·X) = P·Attn(X)` for every
/// permutation matrix `P`, because each output row is `Σⱼ softmax(qᵢ·kⱼ/√d)·vⱼ`, a sum over
/// keys that does not care about their order. Adding sinusoidal position vectors `X + PE`
/// breaks this: the same word at another position gets another query, key and value.
public struct PositionalExample: Sendable {
    public static let words = ["the", "cat", "sat", "on", "the", "mat"]
    /// The permutation applied: position `i` of the permuted sentence holds word `permutation[i]`.
    public static let permutation = [5, 2, 0, 3, 1, 4]
    public static let width = 16
    /// `max |Attn(X[π]) − Attn(X)[π]|` without and with sinusoidal positions.
    public var differenceWithout: Float
    public var differenceWith: Float
    /// The largest |output| (for scale).
    public var outputScale: Float

    public static func compute(seed: UInt64 = 4) -> PositionalExample {
        var generator = SeededGenerator(seed: seed)
        let vocabulary = Array(Set(words)).sorted()
        let table = Tensor.randomNormal([vocabulary.count, width], generator: &generator)
        let layer = MultiHeadAttention(modelSize: width, heads: 2, standardDeviation: 0.5, generator: &generator)
        let x = ExampleMath.matrix(words.map { w in
            let r = checkNotNil(vocabulary.firstIndex(of: w), "PositionalExample: \(w) is missing from its own vocabulary")
            return Array(table.scalars[(r * width)..<((r + 1) * width)])
        })
        let pe = SinusoidalPositionalEncoding(size: width).encodings(positions: 0..<words.count)
        func rows(_ t: Tensor, _ order: [Int]) -> Tensor {
            Tensor.concatenated(order.map { t.sliced(axis: 0, $0..<($0 + 1)) }, axis: 0)
        }
        func run(_ input: Tensor) -> Tensor {
            layer(input.reshaped([1, words.count, width])).reshaped([words.count, width])
        }
        func difference(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0 }
        let plain = run(x)
        let permutedWithout = run(rows(x, permutation))
        let withPositions = run(x + pe)
        let permutedWith = run(rows(x, permutation) + pe)
        return PositionalExample(
            differenceWithout: difference(permutedWithout, rows(plain, permutation)),
            differenceWith: difference(permutedWith, rows(withPositions, permutation)),
            outputScale: plain.scalars.map(abs).max() ?? 0)
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        let permuted = Self.permutation.map { Self.words[$0] }.joined(separator: " ")
        let lines = [
            "Question (seed 004): self-attention treats its input as a set; where does word order come from?",
            "A seeded 2-head attention layer (d = \(Self.width)) on word vectors X for \"\(Self.words.joined(separator: " "))\",",
            "then on the same words permuted: \"\(permuted)\".",
            "",
            "  max |Attn(X[π]) − Attn(X)[π]|, no positions:          " + String(format: "%.1e", Double(differenceWithout))
                + "   (Float32 rounding: the outputs are the same rows, permuted)",
            "  max |Attn(X[π] + PE) − Attn(X + PE)[π]|, sinusoidal:  " + String(format: "%.3f", Double(differenceWith))
                + "   (outputs are of size \(String(format: "%.2f", Double(outputScale))))",
            "",
            "Without positional information, permuting the words only permutes the outputs: \"the cat sat\" and",
            "\"sat the cat\" give each word the same vector. Adding position vectors (sinusoidal here; learned or RoPE",
            "in TinyLLM) makes the same word at another position a different input, so order can matter.",
        ]
        let json: JSONValue = .object([
            ("words", .strings(Self.words)), ("permutation", .array(Self.permutation.map { .int($0) })),
            ("differenceWithoutPositions", .float(differenceWithout)), ("differenceWithPositions", .float(differenceWith)),
            ("outputScale", .float(outputScale)),
        ])
        return (lines, json)
    }
}

/// Seed 004's cross-attention: queries from one sequence, keys and values from another, so the
/// weight matrix is `Lq × Lk` with `Lq ≠ Lk`: `Z = softmax(Q·Kᵀ/√d)·V` with `Q = X·W_Q`
/// (`X`: the decoder side, `[Lq, d]`) and `K = C·W_K`, `V = C·W_V` (`C`: the encoder side, `[Lk, d]`).
public struct CrossAttentionExample: Sendable {
    public static let queries = ["le", "chat", "dort"]
    public static let context = ["the", "cat", "is", "sleeping", "now"]
    public static let width = 8
    /// `[Lq, Lk]`, rows sum to 1.
    public var weights: Tensor
    /// `[Lq, d]`.
    public var output: Tensor
    /// `max |Z − A·V|`: the fused kernel's output against the weights times the values.
    public var consistency: Float

    public static func compute(seed: UInt64 = 5) -> CrossAttentionExample {
        var generator = SeededGenerator(seed: seed)
        let x = Tensor.randomNormal([1, queries.count, width], generator: &generator)
        let c = Tensor.randomNormal([1, context.count, width], generator: &generator)
        let layer = MultiHeadAttention(modelSize: width, heads: 1, standardDeviation: 0.7, generator: &generator)
        let steps = layer.intermediates(x, context: c)
        let weights = steps.weights.reshaped([queries.count, context.count])
        let values = steps.values.reshaped([context.count, width])
        let z = scaledDotProductAttention(queries: steps.queries, keys: steps.keys, values: steps.values, implementation: .fused)
            .reshaped([queries.count, width])
        let byHand = weights.matmul(values)
        return CrossAttentionExample(
            weights: weights, output: layer(x, context: c).reshaped([queries.count, width]),
            consistency: zip(z.scalars, byHand.scalars).map { abs($0 - $1) }.max() ?? 0)
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        var lines = [
            "Cross-attention (seed 004): queries from one sequence (a decoder: \(Self.queries.joined(separator: " "))),",
            "keys and values from another (an encoder: \(Self.context.joined(separator: " "))). Random seeded weights, d = \(Self.width).",
            "Q = X·W_Q is [\(Self.queries.count) × \(Self.width)], K = C·W_K and V = C·W_V are [\(Self.context.count) × \(Self.width)],",
            "so A = softmax(Q·Kᵀ/√d) is [\(Self.queries.count) × \(Self.context.count)]: Lq ≠ Lk, one row per query, one column per context token.",
            "",
            "          " + Self.context.map { $0.leftPadded(9) }.joined(),
        ]
        for (i, q) in Self.queries.enumerated() {
            let row = (0..<Self.context.count).map { NumberFormat.fixed(weights[i, $0]).leftPadded(9) }.joined()
            let sum = (0..<Self.context.count).reduce(Float(0)) { $0 + weights[i, $1] }
            lines.append(q.padding(toLength: 10, withPad: " ", startingAt: 0) + row + "   (row sum " + NumberFormat.fixed(sum) + ")")
        }
        lines += [
            "",
            "Z = A·V has \(Self.queries.count) rows (one per query) of width \(Self.width): each query token gathers information",
            "from the other sequence. max |Z_fused kernel − A·V| = " + String(format: "%.1e", Double(consistency)) + ".",
            "In a translation model this is how \"chat\" finds \"cat\"; here the weights are random, so the pattern is not meaningful.",
        ]
        let json: JSONValue = .object([
            ("queries", .strings(Self.queries)), ("context", .strings(Self.context)),
            ("weights", .tensor(weights)), ("output", .tensor(output)), ("consistency", .float(consistency)),
        ])
        return (lines, json)
    }
}

/// Seed 004's complexity question, measured on the spot: time of the reference kernel (which
/// materialises the `N × N` scores), the fused kernel (tiles and an online softmax, O(N·D)
/// extra memory) and the fused kernel with a sliding window of `w` keys (O(N·w) work) as `N`
/// doubles. Extra memory is what each algorithm allocates beyond Q, K, V and the output, from
/// its design (`N²` scores and weights for the reference, `N` log-sum-exp values plus fixed
/// tiles for the fused kernels), not a process measurement.
public struct ComplexityExample: Sendable {
    public struct Row: Sendable {
        public var length: Int
        public var referenceSeconds: Double
        public var fusedSeconds: Double
        public var windowSeconds: Double
        public var referenceExtraBytes: Int
        public var fusedExtraBytes: Int
    }
    public static let lengths = [128, 256, 512, 1024]
    public static let headSize = 64
    public static let window = 64
    public var rows: [Row]

    public static func compute(lengths: [Int] = lengths, repeats: Int = 3, seed: UInt64 = 6) -> ComplexityExample {
        var generator = SeededGenerator(seed: seed)
        let d = headSize
        let rows = lengths.map { n -> Row in
            let q = Tensor.randomNormal([1, 1, n, d], generator: &generator)
            let k = Tensor.randomNormal([1, 1, n, d], generator: &generator)
            let v = Tensor.randomNormal([1, 1, n, d], generator: &generator)
            func time(_ body: () -> Tensor) -> Double {
                _ = body()   // warm-up
                var best = Double.infinity
                for _ in 0..<repeats {
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = body()
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                return best
            }
            return Row(
                length: n,
                referenceSeconds: time { scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, implementation: .reference) },
                fusedSeconds: time { scaledDotProductAttention(queries: q, keys: k, values: v, mask: .causal, implementation: .fused) },
                windowSeconds: time { scaledDotProductAttention(queries: q, keys: k, values: v, mask: .slidingWindow(window), implementation: .fused) },
                referenceExtraBytes: 2 * n * n * 4, fusedExtraBytes: n * 4)
        }
        return ComplexityExample(rows: rows)
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        func ms(_ s: Double) -> String { String(format: "%.3f", s * 1000) }
        func bytes(_ b: Int) -> String {
            b >= 1 << 20 ? String(format: "%.1f MiB", Double(b) / Double(1 << 20)) : String(format: "%.1f KiB", Double(b) / 1024)
        }
        var lines = [
            "Seed 004: self-attention compares every token with every token, O(N²) time and (naively) memory.",
            "Causal attention, one head, d_k = \(Self.headSize), timed here (best of 3, milliseconds):",
            "",
            "      N   reference   fused   window \(Self.window)   extra memory: reference (N² scores+weights)   fused (N log-sum-exp)",
        ]
        for r in rows {
            lines.append(String(r.length).leftPadded(7) + ms(r.referenceSeconds).leftPadded(12) + ms(r.fusedSeconds).leftPadded(8)
                + ms(r.windowSeconds).leftPadded(11) + bytes(r.referenceExtraBytes).leftPadded(45) + bytes(r.fusedExtraBytes).leftPadded(23))
        }
        if let first = rows.first, let last = rows.last, last.length > first.length {
            let doublings = log2(Double(last.length) / Double(first.length))
            func growth(_ a: Double, _ b: Double) -> String { String(format: "×%.1f", pow(b / max(a, 1e-12), 1 / doublings)) }
            lines += [
                "",
                "Per doubling of N: reference " + growth(first.referenceSeconds, last.referenceSeconds)
                    + ", fused " + growth(first.fusedSeconds, last.fusedSeconds)
                    + ", sliding window " + growth(first.windowSeconds, last.windowSeconds)
                    + " (quadratic would be ×4, linear ×2; small N is dominated by fixed costs).",
            ]
        }
        lines += [
            "Both full kernels do O(N²) work; the fused one never stores the N × N matrix (FlashAttention), so its",
            "extra memory grows like N. A sliding window of \(Self.window) keys makes the work O(N·w): linear in N.",
        ]
        let json: JSONValue = .object([("headSize", .int(Self.headSize)), ("window", .int(Self.window)), ("rows", .array(rows.map { r in
            .object([("N", .int(r.length)), ("referenceSeconds", .double(r.referenceSeconds)), ("fusedSeconds", .double(r.fusedSeconds)),
                     ("windowSeconds", .double(r.windowSeconds)), ("referenceExtraBytes", .int(r.referenceExtraBytes)),
                     ("fusedExtraBytes", .int(r.fusedExtraBytes))])
        }))])
        return (lines, json)
    }
}
