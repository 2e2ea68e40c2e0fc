import Attention
import AttentionViz
import Foundation
import TinyLLM

/// `attend explain --example utf8-bytes | byte-pairs | word-boundaries`: seed 003's sentences
/// about byte-level models, measured on a real byte-level TinyLLM (default `tinyllm-utf8`).
/// The arithmetic lives in ``ByteAttentionStatistics``; this file runs the model and prints.
enum ByteLevelExample: String, CaseIterable {
    case utf8Bytes = "utf8-bytes"
    case bytePairs = "byte-pairs"
    case wordBoundaries = "word-boundaries"

    /// One line with Cyrillic (2 bytes), Chinese (3 bytes) and emoji (4 bytes).
    static let defaultText = "Москва — столица России. 北京是中国的首都。 😀 😂 🎉 Příliš žluťoučký kůň"
    static let defaultCorpus = "../shared/data/utf8-multilingual.txt"
    static let defaultWindows = 256
    /// Pairs seen fewer times are left out of the ranking (their means are noise).
    static let minimumPairCount = 20.0

    var claim: String {
        switch self {
        case .utf8Bytes: return "\"Multi-byte characters will learn internal relationships between their component bytes\""
        case .bytePairs: return "\"Byte 72 ('H') might learn to attend to byte 105 ('i') when they appear together\""
        case .wordBoundaries: return "\"the model discovers ... word boundaries ... through attention\""
        }
    }

    static func listing() -> String {
        allCases.map { "  \($0.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0))\($0.claim)" }.joined(separator: "\n")
            + "\n    (default --model tinyllm-utf8; byte-pairs and word-boundaries read --corpus, default \(defaultCorpus), validation split)\n"
    }
}

extension Explain {
    func runByteLevelExample(_ example: ByteLevelExample) throws {
        let modelName = input.model ?? TinyLLMBundledModel.utf8.rawValue
        let model: TinyLLMModel
        do { model = try loadTinyLLM(modelPath: modelName) } catch {
            throw InputError("--example \(example.rawValue) needs a byte-level TinyLLM (--model tinyllm-utf8, a run folder or .safetensors file): \(error)")
        }
        let c = model.configuration
        let header = "TinyLLM \(modelName): \(c.layers) layers × \(c.heads) heads, width \(c.width), context \(c.contextLength)"
        let output: (text: String, json: JSONValue)
        switch example {
        case .utf8Bytes:
            output = try withinCharacters(model: model, header: header)
        case .bytePairs, .wordBoundaries:
            let sample = try ByteSample.load(corpus: corpus ?? ByteLevelExample.defaultCorpus, windows: windows,
                                             context: c.contextLength)
            output = example == .bytePairs ? bytePairs(model: model, sample: sample, header: header)
                : wordBoundaries(model: model, sample: sample, header: header)
        }
        print(json ? output.json.serialized() : output.text, terminator: json ? "\n" : "")
    }

    private func withinCharacters(model: TinyLLMModel, header: String) throws -> (text: String, json: JSONValue) {
        let bytes = try input.text.map { try TextInput.validated(TextInput.rawBytes(ofArgument: $0), allowInvalidUTF8: false) }
            ?? Array(ByteLevelExample.defaultText.utf8)
        let c = model.configuration
        guard bytes.count <= c.contextLength else {
            throw InputError("the text has \(bytes.count) bytes; the model's context is \(c.contextLength)")
        }
        let continuation = ByteAttentionStatistics.continuationBytes(bytes)
        guard !continuation.isEmpty else { throw InputError("the text has no multi-byte character to measure") }
        let weights = model.attentionWeights(tokens: bytes.map(Int.init))
        let shares = ByteAttentionStatistics.withinCharacterShares(continuation, layers: weights)
        let uniform = ByteAttentionStatistics.withinCharacterShare(continuation) { _ in [Double](repeating: 0, count: c.contextLength + 1) }.uniform
        let rollout = AttributionMath.rollout(weights)
        let rolloutShare = ByteAttentionStatistics.withinCharacterShare(continuation) { rollout[$0] }.share
        let ratio = ByteAttentionStatistics.specialisationRatio, minimum = ByteAttentionStatistics.minimumShare
        var specialised: [(layer: Int, head: Int, share: Double)] = []
        for (l, row) in shares.enumerated() { for (h, s) in row.enumerated() where s >= ratio * uniform && s >= minimum {
            specialised.append((l, h, s))
        } }
        // Knockouts with the existing attribution code: the prefix up to each continuation byte
        // (later bytes cannot matter under the causal mask), focus on its last byte.
        var knockout = [[Float]](repeating: [], count: bytes.count)
        for cb in continuation {
            knockout[cb.position] = model.attribution(tokens: bytes[0...cb.position].map(Int.init), focus: cb.position).knockout
        }
        let effects = ByteAttentionStatistics.knockoutByTarget(continuation, knockout: knockout)
        let knockoutRatio = effects.other > 0 ? effects.own / effects.other : .infinity
        let verdict = ByteAttentionStatistics.withinCharacterVerdict(specialisedHeads: specialised.count, knockoutRatio: knockoutRatio)

        let characters = TextSegmentation.characters(bytes).filter { $0.byteRange.count > 1 }
        var t = "Inside characters — seed 003: \(ByteLevelExample.utf8Bytes.claim)\n\(header)\n"
        t += "Text (\(bytes.count) bytes): \(TextSegmentation.label(bytes))\n"
        t += "\(characters.count) multi-byte characters, \(continuation.count) continuation bytes "
            + "(e.g. \(characters.prefix(3).map { "\($0.label) = \($0.hexBytes)" }.joined(separator: ", ")))\n\n"
        t += "Share of a continuation byte's attention on the earlier bytes of its own character\n"
        t += "(mean over the \(continuation.count) continuation bytes; a uniform causal head gives \(pct(uniform))):\n"
        t += "         " + (0..<c.heads).map { "head \($0 + 1)".padding(toLength: 9, withPad: " ", startingAt: 0) }.joined() + "\n"
        for (l, row) in shares.enumerated() {
            t += "layer \(l + 1)  " + row.map { pct($0).padding(toLength: 9, withPad: " ", startingAt: 0) }.joined().trimmingCharacters(in: .whitespaces) + "\n"
        }
        t += "rollout: \(pct(rolloutShare)) (\(String(format: "%.1f", rolloutShare / uniform))× uniform)\n"
        t += "Heads that specialise (share ≥ \(Int(ratio))× uniform and ≥ \(pct(minimum))): "
            + (specialised.isEmpty ? "none" : specialised.map { "L\($0.layer + 1)H\($0.head + 1) \(pct($0.share))" }.joined(separator: ", ")) + "\n\n"
        t += "Knockout (KL of the next-byte prediction at the continuation byte, nats, mean per edge):\n"
        t += "  edges to the character's own earlier bytes: \(String(format: "%.4f", effects.own))\n"
        t += "  edges to every earlier byte outside it:      \(String(format: "%.4f", effects.other))\n"
        t += "  ratio own/other: \(String(format: "%.1f", knockoutRatio))×\n\n"
        t += "Verdict: \(verdict.rawValue) — \(specialised.count) of \(c.layers * c.heads) heads specialise "
            + "(rule: supported needs ≥ 1 such head and a knockout ratio ≥ 2; partly, one of the two)\n"

        let json = JSONValue.object([
            ("example", .string("utf8-bytes")), ("bytes", .int(bytes.count)), ("continuationBytes", .int(continuation.count)),
            ("uniformShare", .double(uniform)),
            ("shares", .array(shares.map { .array($0.map { .double($0) }) })),
            ("rolloutShare", .double(rolloutShare)),
            ("specialisedHeads", .array(specialised.map { .object([("layer", .int($0.layer + 1)), ("head", .int($0.head + 1)), ("share", .double($0.share))]) })),
            ("knockoutOwn", .double(effects.own)), ("knockoutOther", .double(effects.other)),
            ("verdict", .string(verdict.rawValue)),
        ])
        return (t, json)
    }

    private func bytePairs(model: TinyLLMModel, sample: ByteSample, header: String) -> (text: String, json: JSONValue) {
        let maps = sample.bytePairMaps(model: model)
        let c = model.configuration
        var t = "Byte pairs — seed 003: \(ByteLevelExample.bytePairs.claim)\n\(header)\n\(sample.description)\n"
        t += "Mean attention from a byte value to an earlier byte value in the same window (pairs seen ≥ \(Int(ByteLevelExample.minimumPairCount)) times); "
            + "lift = attention / what a uniform causal head gives.\n\n"
        // The seed's pair both ways: 'H' looking back at an earlier 'i' (72→105, the sentence
        // read literally), and 'i' looking back at 'H' (105→72: in "Hi" a causal model can only
        // attend from the later byte).
        typealias Best = (rank: Int, of: Int, lift: Double, mean: Double, layer: Int, head: Int)
        var best: [Best?] = [nil, nil]
        let pairs: [(UInt8, UInt8)] = [(72, 105), (105, 72)]
        var headsJSON: [JSONValue] = []
        for l in 0..<c.layers {
            for h in 0..<c.heads {
                let map = maps[l][h]
                let ranked = map.ranked(minimumCount: ByteLevelExample.minimumPairCount)
                let top = ranked.prefix(3).map { "\(TextSegmentation.byteLabel($0.from))→\(TextSegmentation.byteLabel($0.to)) \(String(format: "%.3f", $0.mean)) (×\(String(format: "%.0f", $0.lift)))" }
                var notes: [String] = []
                for (k, pair) in pairs.enumerated() {
                    let name = "\(Character(UnicodeScalar(pair.0)))→\(Character(UnicodeScalar(pair.1)))"
                    guard let index = ranked.firstIndex(where: { $0.from == pair.0 && $0.to == pair.1 }) else {
                        notes.append("\(name): too rare"); continue
                    }
                    let p = ranked[index]
                    notes.append("\(name) #\(index + 1)/\(ranked.count) ×\(String(format: "%.1f", p.lift))")
                    if let b = best[k], Double(b.rank) / Double(b.of) <= Double(index + 1) / Double(ranked.count) { continue }
                    best[k] = (index + 1, ranked.count, p.lift, p.mean, l, h)
                }
                t += "L\(l + 1)H\(h + 1)  strongest: \(top.joined(separator: ", "))   \(notes.joined(separator: ", "))\n"
                headsJSON.append(.object([
                    ("layer", .int(l + 1)), ("head", .int(h + 1)),
                    ("mean", .array(map.meanMap.map { .array($0.map { .float(Float($0)) }) })),
                ]))
            }
        }
        t += "\n"
        var verdicts: [ByteAttentionStatistics.Verdict] = []
        var pairJSON: [JSONValue] = []
        for (k, pair) in pairs.enumerated() {
            let count = Int(maps[0][0].count[Int(pair.0) << 8 | Int(pair.1)])
            let name = "'\(Character(UnicodeScalar(pair.0)))'→'\(Character(UnicodeScalar(pair.1)))' (\(pair.0)→\(pair.1))"
            if let b = best[k] {
                let topPercent = Double(b.rank) / Double(b.of) <= 0.01
                verdicts.append(topPercent && b.lift >= 2 ? .supported : (b.lift >= 1.25 ? .partly : .not))
                t += "\(name): \(count) pairs in the sample; best head L\(b.layer + 1)H\(b.head + 1): rank \(b.rank) of \(b.of) "
                    + "(top \(String(format: "%.1f", 100 * Double(b.rank) / Double(b.of)))%), mean \(String(format: "%.3f", b.mean)), lift ×\(String(format: "%.1f", b.lift))\n"
            } else {
                verdicts.append(.not)
                t += "\(name): \(count) pairs in the sample, too few to rank (< \(Int(ByteLevelExample.minimumPairCount)))\n"
            }
            pairJSON.append(.object([("from", .int(Int(pair.0))), ("to", .int(Int(pair.1))), ("count", .int(count)),
                                     ("bestRank", best[k].map { .int($0.rank) } ?? .null), ("of", best[k].map { .int($0.of) } ?? .null),
                                     ("lift", best[k].map { .double($0.lift) } ?? .null)]))
        }
        let verdict: ByteAttentionStatistics.Verdict = verdicts.contains(.supported) ? .supported : (verdicts.contains(.partly) ? .partly : .not)
        t += "Verdict: \(verdict.rawValue) (rule, on the better of the two directions: supported when the pair is in the top 1% of some head's pairs with lift ≥ 2; partly with lift ≥ 1.25)\n"
        t += "The 256×256 maps: --json; an SVG heatmap: attend view --byte-pairs --layer L --head H --out pairs.svg\n"
        let json = JSONValue.object([
            ("example", .string("byte-pairs")), ("windows", .int(sample.windows.count)), ("bytes", .int(sample.byteCount)),
            ("hi", .array(pairJSON)),
            ("verdict", .string(verdict.rawValue)), ("heads", .array(headsJSON)),
        ])
        return (t, json)
    }

    private func wordBoundaries(model: TinyLLMModel, sample: ByteSample, header: String) -> (text: String, json: JSONValue) {
        let shares = sample.boundaryShares(model: model)
        let c = model.configuration
        let frequency = shares[0][0].frequency, uniform = shares[0][0].uniformShare
        var t = "Word boundaries — seed 003: \(ByteLevelExample.wordBoundaries.claim)\n\(header)\n\(sample.description)\n"
        t += "Spaces and newlines are \(pct(frequency)) of the bytes; a uniform causal head puts \(pct(uniform)) of a row on them.\n"
        t += "Share of each head's attention on spaces and newlines (× uniform):\n"
        var best = (ratio: 0.0, share: 0.0, layer: 0, head: 0)
        var rows: [JSONValue] = []
        for l in 0..<c.layers {
            t += "layer \(l + 1)  "
            for h in 0..<c.heads {
                let s = shares[l][h]
                let r = s.uniformShare > 0 ? s.share / s.uniformShare : 0
                if r > best.ratio { best = (r, s.share, l, h) }
                t += "\(pct(s.share)) (×\(String(format: "%.1f", r)))  "
                rows.append(.object([("layer", .int(l + 1)), ("head", .int(h + 1)), ("share", .double(s.share)), ("ratio", .double(r))]))
            }
            t += "\n"
        }
        let verdict = ByteAttentionStatistics.liftVerdict(ratio: best.ratio, share: best.share)
        t += "\nStrongest: L\(best.layer + 1)H\(best.head + 1), \(pct(best.share)) of its attention on boundaries, ×\(String(format: "%.1f", best.ratio)) uniform\n"
        t += "Verdict: \(verdict.rawValue) (rule: supported when some head gives boundaries ≥ 2× the uniform share and ≥ 25% of its attention; partly above 1.25×)\n"
        let json = JSONValue.object([
            ("example", .string("word-boundaries")), ("windows", .int(sample.windows.count)), ("bytes", .int(sample.byteCount)),
            ("frequency", .double(frequency)), ("uniformShare", .double(uniform)), ("heads", .array(rows)),
            ("verdict", .string(verdict.rawValue)),
        ])
        return (t, json)
    }
}

func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

/// A bounded sample of a corpus's validation split: consecutive windows of the model's context.
struct ByteSample {
    var windows: [[UInt8]]
    var path: String
    var totalValidation: Int

    var byteCount: Int { windows.reduce(0) { $0 + $1.count } }
    var description: String {
        "Sample: the first \(windows.count) windows (\(byteCount) bytes) of the validation split of \(path) (\(totalValidation) bytes)"
    }

    /// - Parameter windows: at most this many windows (0: the whole split).
    static func load(corpus path: String, windows: Int, context: Int) throws -> ByteSample {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("corpus not found: \(path) (give --corpus FILE; the measurement reads its validation split)")
        }
        guard windows >= 0 else { throw InputError("--windows must be ≥ 0 (0: the whole validation split), got \(windows)") }
        let corpus = try ByteCorpus(contentsOf: path)
        let split = corpus.validation
        var result: [[UInt8]] = []
        var start = 0
        while start + context <= split.count && (windows == 0 || result.count < windows) {
            result.append(Array(split[start..<(start + context)]))
            start += context
        }
        guard !result.isEmpty else { throw InputError("the validation split of \(path) is shorter than the context (\(context) bytes)") }
        return ByteSample(windows: result, path: path, totalValidation: split.count)
    }

    private func forEachHead(model: TinyLLMModel, _ body: (_ layer: Int, _ head: Int, _ window: [UInt8], _ weights: UnsafeBufferPointer<Float>) -> Void) {
        for window in windows {
            let weights = model.attentionWeights(tokens: window.map(Int.init))
            let t = window.count
            for (l, layer) in weights.enumerated() {
                layer.withUnsafeBufferPointer { all in
                    for h in 0..<layer.shape[0] {
                        body(l, h, window, UnsafeBufferPointer(rebasing: all[(h * t * t)..<((h + 1) * t * t)]))
                    }
                }
            }
        }
    }

    func bytePairMaps(model: TinyLLMModel) -> [[ByteAttentionStatistics.BytePairMap]] {
        let c = model.configuration
        var maps = [[ByteAttentionStatistics.BytePairMap]](repeating: [ByteAttentionStatistics.BytePairMap](repeating: .init(), count: c.heads), count: c.layers)
        forEachHead(model: model) { l, h, window, w in maps[l][h].add(bytes: window, weights: w) }
        return maps
    }

    func boundaryShares(model: TinyLLMModel) -> [[ByteAttentionStatistics.BoundaryShare]] {
        let c = model.configuration
        var shares = [[ByteAttentionStatistics.BoundaryShare]](repeating: [ByteAttentionStatistics.BoundaryShare](repeating: .init(), count: c.heads), count: c.layers)
        forEachHead(model: model) { l, h, window, w in shares[l][h].add(bytes: window, weights: w) }
        return shares
    }
}
