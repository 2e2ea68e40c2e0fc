import Foundation

/// The seeds' real-model examples (`attend explain --example animal-tired --model DIR`): a
/// sentence where "it" has a referent, run through a pretrained encoder and reported as
/// weights vs rollout vs knockout, saying plainly what the model does, including when "it"
/// does not attend to its referent.
public struct ReferentExample: Sendable, Equatable {
    /// The encoder the examples use when `--model` is not given and the Hugging Face cache holds it.
    public static let defaultRepository = "sentence-transformers/all-MiniLM-L6-v2"

    public let name: String
    public let sentence: String
    /// The pronoun followed.
    public let focus: String
    /// The word the pronoun refers to, and the other candidate a reader might confuse it with.
    public let referent: String
    public let competitor: String
    /// Where the claim comes from.
    public let claim: String

    public static let all: [ReferentExample] = [
        ReferentExample(name: "animal-tired", sentence: "The animal didn't cross the street because it was too tired.",
                        focus: "it", referent: "animal", competitor: "street",
                        claim: "seed 000: \"it\" attends to \"animal\" (tired animals don't cross)"),
        ReferentExample(name: "animal-wide", sentence: "The animal didn't cross the street because it was too wide.",
                        focus: "it", referent: "street", competitor: "animal",
                        claim: "seed 000's counterpart: with \"wide\", \"it\" should find \"street\" instead"),
        ReferentExample(name: "dog-hungry", sentence: "He fed the dog because it was hungry.",
                        focus: "it", referent: "dog", competitor: "he",
                        claim: "seed 004: \"it\" finds \"dog\""),
        ReferentExample(name: "cat-tired", sentence: "The cat sat on the mat because it was tired.",
                        focus: "it", referent: "cat", competitor: "mat",
                        claim: "seed 000: \"it\" and \"cat\" (the toy it-cat example, now on a real model)"),
    ]

    public static func named(_ name: String) -> ReferentExample? { all.first { $0.name == name.lowercased() } }

    /// `--list-examples` lines.
    public static func listing() -> String {
        let width = all.map(\.name.count).max() ?? 0
        return all.map { "  " + $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \"" + $0.sentence + "\"\n"
            + String(repeating: " ", count: width + 4) + $0.claim + " (needs --model: a BERT-family encoder)" }
            .joined(separator: "\n") + "\n"
    }

    /// The numbers the report is built from, all for the focus token.
    public struct Findings: Sendable {
        public var focus: Int, referent: Int, competitor: Int
        /// Mean over layers and heads of the focus row.
        public var meanWeight: (referent: Float, competitor: Float)
        /// The token with the largest mean weight.
        public var mostAttended: Int
        /// The single (layer, head) that gives the referent the most weight, and that weight.
        public var bestHead: (layer: Int, head: Int, weight: Float)
        public var rollout: (referent: Float, competitor: Float)
        public var knockout: (referent: Float, competitor: Float)
        /// 1 = the largest knockout effect among all tokens.
        public var knockoutRank: (referent: Int, competitor: Int)
        /// 1 = the largest mean weight.
        public var weightRank: (referent: Int, competitor: Int)

    }

    /// - Throws: ``AttributionError`` when the tokenizer split a word of the example into
    ///   pieces (the example then cannot name it as one token).
    public func findings(_ a: Attribution) throws -> Findings {
        func index(_ word: String) throws -> Int {
            guard let i = a.tokens.firstIndex(where: { $0.lowercased() == word }) else {
                throw AttributionError("this model's tokenizer has no single token '\(word)' in \"\(sentence)\" (tokens: \(a.tokens.joined(separator: " ")))")
            }
            return i
        }
        let r = try index(referent), c = try index(competitor)
        let mean = a.meanWeights
        func rank(_ values: [Float], _ i: Int) -> Int { values.filter { $0 > values[i] }.count + 1 }
        var best = (layer: 0, head: 0, weight: Float(-1))
        for (l, layer) in a.weights.enumerated() { for (h, row) in layer.enumerated() where row[r] > best.weight { best = (l, h, row[r]) } }
        return Findings(
            focus: a.focus, referent: r, competitor: c, meanWeight: (mean[r], mean[c]),
            mostAttended: mean.indices.max { mean[$0] < mean[$1] } ?? 0, bestHead: best,
            rollout: (a.rollout[r], a.rollout[c]), knockout: (a.knockout[r], a.knockout[c]),
            knockoutRank: (rank(a.knockout, r), rank(a.knockout, c)), weightRank: (rank(mean, r), rank(mean, c)))
    }

    /// The plain-language report and its numbers as JSON (the attribution plus the findings).
    public func report(_ a: Attribution, findings f: Findings, modelDescription: String, measures: Attribution.Measures) -> (text: String, json: JSONValue) {
        func pct(_ v: Float) -> String { String(format: "%.1f%%", 100 * v) }
        func num(_ v: Float) -> String { String(format: "%.4f", v) }
        let t = a.tokens.count
        let ref = "\"\(referent)\"", comp = "\"\(competitor)\"", it = "\"\(focus)\""
        var lines = [
            "Real-model example \"\(name)\": \(claim)",
            "Sentence: \(sentence)",
            "Model: \(modelDescription)",
            "Focus \(it) (token #\(f.focus) of \(t), from 0); referent \(ref) (#\(f.referent)), the other candidate \(comp) (#\(f.competitor)).",
            "",
            "                         " + ref.padding(toLength: 12, withPad: " ", startingAt: 0) + comp.padding(toLength: 12, withPad: " ", startingAt: 0) + "most of all",
            "  mean weight            " + pct(f.meanWeight.referent).padding(toLength: 12, withPad: " ", startingAt: 0)
                + pct(f.meanWeight.competitor).padding(toLength: 12, withPad: " ", startingAt: 0) + "\(a.tokens[f.mostAttended]) \(pct(a.meanWeights[f.mostAttended]))",
            "  rollout                " + pct(f.rollout.referent).padding(toLength: 12, withPad: " ", startingAt: 0)
                + pct(f.rollout.competitor).padding(toLength: 12, withPad: " ", startingAt: 0) + maxLabel(a.rollout, a.tokens, pct),
            "  knockout               " + num(f.knockout.referent).padding(toLength: 12, withPad: " ", startingAt: 0)
                + num(f.knockout.competitor).padding(toLength: 12, withPad: " ", startingAt: 0) + maxLabel(a.knockout, a.tokens, num),
            "  rank by weight         " + "\(f.weightRank.referent) of \(t)".padding(toLength: 12, withPad: " ", startingAt: 0) + "\(f.weightRank.competitor) of \(t)",
            "  rank by knockout       " + "\(f.knockoutRank.referent) of \(t)".padding(toLength: 12, withPad: " ", startingAt: 0) + "\(f.knockoutRank.competitor) of \(t)",
            "",
            "  weight of \(it)→\(ref) per layer (mean over heads): "
                + a.weights.enumerated().map { l, layer in "L\(l + 1) \(pct(layer.reduce(0) { $0 + $1[f.referent] } / Float(max(1, layer.count))))" }.joined(separator: "  "),
            "  the head that attends most to \(ref): layer \(f.bestHead.layer + 1), head \(f.bestHead.head + 1) (\(pct(f.bestHead.weight)) of its attention)",
            "  mean weight and rollout: share of \(it)'s attention; knockout: \(measures.knockout) with the one edge removed in every layer and head.",
            "",
            "What the model does:",
        ]
        if f.meanWeight.referent > f.meanWeight.competitor {
            lines.append("- Averaged over all \(a.weights.count * (a.weights.first?.count ?? 0)) heads, \(it) attends more to \(ref) than to \(comp) (\(pct(f.meanWeight.referent)) vs \(pct(f.meanWeight.competitor))).")
        } else {
            lines.append("- Averaged over all heads, \(it) does NOT attend more to its referent \(ref) than to \(comp) (\(pct(f.meanWeight.referent)) vs \(pct(f.meanWeight.competitor))): the seed's picture of one clean arrow is not what this model does.")
        }
        if f.mostAttended != f.referent {
            lines.append("- Its largest share goes to \(a.tokens[f.mostAttended]) (\(pct(a.meanWeights[f.mostAttended]))), not to \(ref); special tokens and punctuation often act as a resting place for attention.")
        }
        if f.knockout.referent > f.knockout.competitor {
            lines.append("- Causally, cutting \(it)→\(ref) changes \(it)'s output more than cutting \(it)→\(comp) (\(num(f.knockout.referent)) vs \(num(f.knockout.competitor)); \(ref) ranks \(f.knockoutRank.referent) of \(t) by knockout, \(f.weightRank.referent) by weight).")
        } else {
            lines.append("- Causally, cutting \(it)→\(ref) matters less than cutting \(it)→\(comp) (\(num(f.knockout.referent)) vs \(num(f.knockout.competitor))): whatever \(it) encodes here, it does not lean on its referent more than on the other candidate.")
        }
        lines.append("- " + a.verdict().replacingOccurrences(of: "Verdict: ", with: ""))
        lines.append("Attention is not explanation: a weight says where a token looks, the knockout what its output depends on. See `attend attribute` for every token and head.")

        let json = JSONValue.object([
            ("example", .string(name)), ("sentence", .string(sentence)), ("model", .string(modelDescription)),
            ("tokens", .strings(a.tokens)), ("focus", .int(f.focus)), ("referent", .int(f.referent)), ("competitor", .int(f.competitor)),
            ("meanWeights", .floats(a.meanWeights)), ("rollout", .floats(a.rollout)), ("knockout", .floats(a.knockout)),
            ("bestHead", .object([("layer", .int(f.bestHead.layer)), ("head", .int(f.bestHead.head)), ("weight", .float(f.bestHead.weight))])),
            ("rankCorrelation", a.rankCorrelation.map { .float($0) } ?? .null),
        ])
        return (lines.joined(separator: "\n") + "\n", json)
    }

    func maxLabel(_ values: [Float], _ tokens: [String], _ format: (Float) -> String) -> String {
        guard let i = values.indices.max(by: { values[$0] < values[$1] }) else { return "" }
        return "\(tokens[i]) \(format(values[i]))"
    }
}
