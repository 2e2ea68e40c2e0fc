import Attention

/// The seeds' worked examples, replayed with their own numbers by the real kernels
/// (`attend explain --example NAME`, `--list-examples`).
public enum WorkedExample: String, CaseIterable, Sendable {
    /// Seed 000: the 5-d q/k/v of "it" and "cat"; q_it · k_cat = 0.85.
    case itCat = "it-cat"
    /// Seed 003: the "sat" score row, the document's illustrative weights beside the true softmax.
    case sat
    /// Seed 001: "How are you doing?" through every step.
    case howAreYou = "how-are-you"
    /// Seed 004: three tokens X1, X2, X3 where X1 matches X2.
    case threeTokens = "three-tokens"
    /// Seed 004 (and 003): why scale by √d_k, measured on random vectors.
    case scaling
    /// Seed 004: without positions, permuting the words permutes the outputs exactly.
    case positional
    /// Seed 004: queries from one sequence, keys/values from another (Lq ≠ Lk).
    case crossAttention = "cross-attention"
    /// Seed 004: time and extra memory of the reference, fused and sliding-window kernels as N doubles.
    case complexity

    /// Which seed document it replays.
    public var seed: String {
        switch self {
        case .itCat: return "seed 000 (self-attention brief), \"intuition example\""
        case .sat: return "seed 003 (Self-Attention Explained), steps 2–5"
        case .howAreYou: return "seed 001 (What is Self-Attention?), steps 1–5"
        case .threeTokens: return "seed 004 (Self-Attention notes), \"Example (Simplified)\""
        case .scaling: return "seed 004, \"Why Scaling by √d_k?\""
        case .positional: return "seed 004, positional encoding (\"self-attention has no notion of order\")"
        case .crossAttention: return "seed 004, cross-attention"
        case .complexity: return "seed 004, computational complexity O(N²)"
        }
    }

    public var summary: String {
        switch self {
        case .itCat: return "\"it\" and \"cat\": 5-d query/key/value vectors, the score q_it · k_cat = 0.85, softmax and output"
        case .sat: return "\"The cat sat on the mat\": the \"sat\" score row, the document's weights vs the true softmax"
        case .howAreYou: return "\"How are you doing?\": tokens, X, Q/K/V, scores, softmax, Z for every token (toy model)"
        case .threeTokens: return "X1, X2, X3: X1's query matches X2's key, so X1 attends most to X2"
        case .scaling: return "dot products grow with d_k; dividing by √d_k keeps the softmax from saturating"
        case .positional: return "without positions, permuting the words permutes the outputs exactly; with them it does not (measured)"
        case .crossAttention: return "queries from one sequence, keys/values from another: a 3 × 5 weight matrix (Lq ≠ Lk)"
        case .complexity: return "time and extra memory of reference, fused and sliding-window kernels as N doubles (measured now)"
        }
    }

    /// - Throws: ``VizError/unknownExample`` with the valid names.
    public static func named(_ name: String) throws -> WorkedExample {
        guard let example = WorkedExample(rawValue: name.lowercased()) else {
            throw VizError.unknownExample(name: name, valid: allCases.map(\.rawValue))
        }
        return example
    }

    /// `--list-examples`.
    public static func listing() -> String {
        let width = allCases.map(\.rawValue.count).max() ?? 0
        return allCases.map { "  " + $0.rawValue.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.summary + "\n"
            + String(repeating: " ", count: width + 4) + "from " + $0.seed }.joined(separator: "\n") + "\n"
    }

    /// The example's text for the terminal and its numbers as JSON.
    public func run(style: TerminalStyle) -> (text: String, json: JSONValue) {
        var text: [String]
        var json: JSONValue
        switch self {
        case .itCat: (text, json) = ItCatExample.compute().render(style: style)
        case .sat: (text, json) = SatExample.compute().render(style: style)
        case .howAreYou: (text, json) = HowAreYouExample.render(style: style)
        case .threeTokens: (text, json) = ThreeTokenExample.compute().render(style: style)
        case .scaling: (text, json) = ScalingExample.compute().render(style: style)
        case .positional: (text, json) = PositionalExample.compute().render(style: style)
        case .crossAttention: (text, json) = CrossAttentionExample.compute().render(style: style)
        case .complexity: (text, json) = ComplexityExample.compute().render(style: style)
        }
        text.insert(contentsOf: ["Worked example \"\(rawValue)\", from \(seed)", ""], at: 0)
        if case .object(let members) = json {
            json = .object([("example", .string(rawValue)), ("seed", .string(seed))] + members)
        }
        return (text.joined(separator: "\n") + "\n", json)
    }
}

/// Helpers shared by the examples.
enum ExampleMath {
    /// `[n, d]` rows → the engine's `[1, 1, n, d]`.
    static func batched(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [1, 1, rows.count, rows[0].count], scalars: rows.flatMap { $0 })
    }

    static func matrix(_ rows: [[Float]]) -> Tensor {
        Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })
    }

    static func squeezed(_ t: Tensor) -> Tensor {
        t.reshaped([t.shape[t.rank - 2], t.shape[t.rank - 1]])
    }

    /// "0.9*0.8 + 0.1*0.2 + …" as seed 000 writes a dot product.
    static func writtenDotProduct(_ a: [Float], _ b: [Float]) -> (products: String, terms: String) {
        let products = zip(a, b).map { "\(trim($0))*\(trim($1))" }.joined(separator: " + ")
        let terms = zip(a, b).map { trim($0 * $1) }.joined(separator: " + ")
        return (products, terms)
    }

    /// A short decimal: 0.72, 0, 0.02 (two decimals, trailing zeros dropped).
    static func trim(_ value: Float) -> String {
        var s = NumberFormat.fixed(value, decimals: 2)
        while s.contains("."), s.last == "0" { s.removeLast() }
        if s.last == "." { s.removeLast() }
        return s
    }
}
