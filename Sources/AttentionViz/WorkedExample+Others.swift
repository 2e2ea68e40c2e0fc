import Attention

/// Seed 001: "How are you doing?" through every step, on the seeded toy model, with the
/// document's illustrative row for "How" beside the model's.
public enum HowAreYouExample {
    public static let sentence = "How are you doing?"
    public static let documentWeights: [Float] = [0.1, 0.2, 0.3, 0.3, 0.1]

    public static func model() -> ToyAttentionModel {
        var configuration = ToyAttentionModel.Configuration()
        configuration.layers = 1
        do {
            return try ToyAttentionModel(bytes: Array(sentence.utf8), configuration: configuration)
        } catch {
            // The model throws only for empty input or an invalid configuration; this sentence and
            // configuration are constants.
            fatalError("HowAreYouExample.model: the toy model rejected its own constant input: \(error)")
        }
    }

    static func render(style: TerminalStyle) -> ([String], JSONValue) {
        let model = model()
        var options = ExplainOptions()
        options.style = style
        options.title = sentence
        options.focus = .token(0)
        let weights = model.weights(layer: 0, head: 0)
        var lines = [
            "The document's softmax row for \"How\" is illustrative: \(NumberFormat.vector(documentWeights, decimals: 1))",
            "(\"How\" pays 30% to \"you\" and \"doing\"). Below, the same five tokens through a real (random, seeded)",
            "layer; its row for \"How\" is " + NumberFormat.vector(row(weights, 0)) + ".",
            "",
        ]
        lines += ExplainReport.render(model, options: options).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var json = ExplainJSON.make(model, options: options)
        if case .object(let members) = json {
            json = .object([("documentWeights", .floats(documentWeights))] + members)
        }
        return (lines, json)
    }
}

/// Seed 004's three tokens: "If X1 strongly matches X2 (high dot product), then X1 will attend
/// more to X2." The document gives no numbers, so these are chosen small and exact: q1·k2 = 2
/// is the largest score in X1's row.
public struct ThreeTokenExample: Sendable {
    public static let tokens = ["X1", "X2", "X3"]
    public static let queries: [[Float]] = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]]
    public static let keys: [[Float]] = [[0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1]]
    public static let values: [[Float]] = [[1, 0], [0, 1], [1, 1]]

    public var scores: Tensor          // Q·Kᵀ            [3, 3]
    public var weights: Tensor         // softmax(S / 2)  [3, 3]
    public var output: Tensor          // A·V             [3, 2]

    public static func compute() -> ThreeTokenExample {
        let q = ExampleMath.batched(queries), k = ExampleMath.batched(keys), v = ExampleMath.batched(values)
        return ThreeTokenExample(
            scores: ExampleMath.matrix(queries).matmul(ExampleMath.matrix(keys), transposingOther: true),
            weights: ExampleMath.squeezed(attentionWeights(queries: q, keys: k)),
            output: ExampleMath.squeezed(scaledDotProductAttention(queries: q, keys: k, values: v, implementation: .reference)))
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        let t = Self.tokens
        var lines = ["Three tokens, d_k = 4; the queries, keys and values are given directly:"]
        lines += TerminalTable(ExampleMath.matrix(Self.queries), rowLabels: t.map { "q(\($0))" }, columnLabels: ["1", "2", "3", "4"], decimals: 0).render(style: style)
        lines += TerminalTable(ExampleMath.matrix(Self.keys), rowLabels: t.map { "k(\($0))" }, columnLabels: ["1", "2", "3", "4"], decimals: 0).render(style: style)
        lines += TerminalTable(ExampleMath.matrix(Self.values), rowLabels: t.map { "v(\($0))" }, columnLabels: ["1", "2"], decimals: 0).render(style: style)
        lines += ["", "Step 1 · Scores S = Q·Kᵀ: q(X1)·k(X2) = 1×1 + 0×0 + 1×1 + 0×0 = \(NumberFormat.fixed(scores[0, 1], decimals: 0)), X1's best match"]
        lines += TerminalTable(scores, rowLabels: t, columnLabels: t, decimals: 0).render(style: style)
        lines += ["", "Step 2 · Scale by √d_k = 2, then softmax row by row:"]
        lines += TerminalHeatmap(weights, rowLabels: t, columnLabels: t).render(style: style)
        lines += [
            "  X1 attends most to X2 (\(NumberFormat.percent(weights[0, 1]))), because q(X1)·k(X2) is the highest score in its row.",
            "",
            "Step 3 · Output Z = A·V: X1's new representation is a weighted combination of all values:",
            "  z(X1) = \(NumberFormat.fixed(weights[0, 0])) × [1, 0] + \(NumberFormat.fixed(weights[0, 1])) × [0, 1]"
                + " + \(NumberFormat.fixed(weights[0, 2])) × [1, 1] = \(NumberFormat.vector(row(output, 0)))",
        ]
        lines += TerminalTable(output, rowLabels: t, columnLabels: ["z1", "z2"]).render(style: style)
        let json: JSONValue = .object([
            ("tokens", .strings(t)), ("Q", .tensor(ExampleMath.matrix(Self.queries))),
            ("K", .tensor(ExampleMath.matrix(Self.keys))), ("V", .tensor(ExampleMath.matrix(Self.values))),
            ("scores", .tensor(scores)), ("scale", .float(0.5)), ("weights", .tensor(weights)), ("output", .tensor(output)),
        ])
        return (lines, json)
    }
}

/// Seed 004's "Why scaling by √d_k?": for random q, k with unit-variance entries, q·k has
/// variance d_k, so unscaled softmax rows become one-hot as d_k grows. Measured here with
/// the engine on seeded random vectors (16 queries × 16 keys per size).
public struct ScalingExample: Sendable {
    public struct Row: Sendable {
        public var headSize: Int
        public var scoreStandardDeviation: Double
        public var scaledStandardDeviation: Double
        /// Mean over query rows of the largest softmax weight.
        public var peakUnscaled: Double
        public var peakScaled: Double
    }
    public static let headSizes = [4, 16, 64, 256]
    public static let tokenCount = 16
    public var rows: [Row]

    public static func compute(seed: UInt64 = 4) -> ScalingExample {
        var generator = SeededGenerator(seed: seed)
        let rows = headSizes.map { d -> Row in
            let q = Tensor.randomNormal([1, 1, tokenCount, d], generator: &generator)
            let k = Tensor.randomNormal([1, 1, tokenCount, d], generator: &generator)
            let scores = ExampleMath.squeezed(q).matmul(ExampleMath.squeezed(k), transposingOther: true)
            let scale = 1 / Float(d).squareRoot()
            return Row(
                headSize: d, scoreStandardDeviation: standardDeviation(scores),
                scaledStandardDeviation: standardDeviation(scores * Tensor(scale)),
                peakUnscaled: meanRowMaximum(ExampleMath.squeezed(attentionWeights(queries: q, keys: k, scale: 1))),
                peakScaled: meanRowMaximum(ExampleMath.squeezed(attentionWeights(queries: q, keys: k))))
        }
        return ScalingExample(rows: rows)
    }

    func render(style: TerminalStyle) -> ([String], JSONValue) {
        var lines = [
            "Random q and k with N(0, 1) entries, \(Self.tokenCount) queries × \(Self.tokenCount) keys per size (seeded).",
            "q·k sums d_k products of variance 1, so its standard deviation is √d_k; ÷√d_k brings it back to 1.",
            "",
            "   d_k   std(q·k)   std(q·k/√d_k)   largest weight per row: unscaled   scaled",
        ]
        for r in rows {
            lines.append(String(r.headSize).leftPadded(6) + NumberFormat.fixed(r.scoreStandardDeviation).leftPadded(11)
                + NumberFormat.fixed(r.scaledStandardDeviation).leftPadded(16)
                + NumberFormat.fixed(r.peakUnscaled).leftPadded(35) + NumberFormat.fixed(r.peakScaled).leftPadded(9))
        }
        lines += [
            "",
            "Unscaled, the rows approach one-hot as d_k grows (largest weight → 1): the softmax saturates and its",
            "gradients vanish. Scaled, the spread stays near 1 at every width, so training stays stable.",
        ]
        let json: JSONValue = .object([("rows", .array(rows.map { r in
            .object([("d_k", .int(r.headSize)), ("scoreStandardDeviation", .double(r.scoreStandardDeviation)),
                     ("scaledStandardDeviation", .double(r.scaledStandardDeviation)),
                     ("peakWeightUnscaled", .double(r.peakUnscaled)), ("peakWeightScaled", .double(r.peakScaled))])
        }))])
        return (lines, json)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
