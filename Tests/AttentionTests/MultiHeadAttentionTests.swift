import Attention
import Foundation
import Testing

/// One multi-head attention configuration; `description` names it in failures.
struct AttentionCase: CustomTestStringConvertible, Sendable {
    var batch: Int, length: Int, modelSize: Int, heads: Int, keyValueHeads: Int
    var headDimension: Int? = nil
    var bias = true
    var causal = false
    var positions = "none"   // "none", "rope", "alibi"
    var testDescription: String {
        "B\(batch) L\(length) d\(modelSize) Hq\(heads) Hkv\(keyValueHeads) D\(headDimension ?? modelSize / heads)"
            + " bias:\(bias) causal:\(causal) \(positions)"
    }
    var encoding: AttentionPositionalEncoding {
        switch positions {
        case "rope": return .rotary(headDimension: headDimension ?? modelSize / heads)
        case "alibi": return .alibi
        default: return .none
        }
    }
    var referenceOptions: MultiHeadReference.Options {
        var o = MultiHeadReference.Options()
        o.causal = causal
        o.ropeBase = positions == "rope" ? 10_000 : nil
        o.alibi = positions == "alibi"
        return o
    }
    func layer(seed: UInt64 = 7) -> MultiHeadAttention {
        MultiHeadReference.randomLayer(
            modelSize: modelSize, heads: heads, keyValueHeads: keyValueHeads, headDimension: headDimension,
            bias: bias, positionalEncoding: encoding, seed: seed)
    }
    func input(seed: UInt64 = 11) -> Tensor { .randomNormal([batch, length, modelSize], seed: seed) }
}

let attentionCases: [AttentionCase] = [
    AttentionCase(batch: 1, length: 1, modelSize: 8, heads: 2, keyValueHeads: 2),
    AttentionCase(batch: 2, length: 7, modelSize: 12, heads: 3, keyValueHeads: 3, bias: false, causal: true),
    AttentionCase(batch: 2, length: 9, modelSize: 16, heads: 4, keyValueHeads: 2, causal: true, positions: "rope"),
    AttentionCase(batch: 1, length: 13, modelSize: 10, heads: 5, keyValueHeads: 1, headDimension: 6, positions: "alibi"),
    AttentionCase(batch: 3, length: 5, modelSize: 8, heads: 4, keyValueHeads: 4, causal: true, positions: "alibi"),
    AttentionCase(batch: 1, length: 17, modelSize: 24, heads: 6, keyValueHeads: 2, bias: false, causal: true, positions: "alibi"),
    AttentionCase(batch: 2, length: 6, modelSize: 12, heads: 2, keyValueHeads: 1, headDimension: 10, positions: "rope"),
]

@Suite struct MultiHeadAttentionTests {
    // Float32 projections of width ≤ 24 with |w| ~ 0.4 and unit inputs: each output sums a few
    // hundred products of size ~1, so rounding stays near 1e-6; 2e-5 leaves room for two GEMMs.
    static let tolerance = 2e-5

    @Test(arguments: attentionCases)
    func selfAttentionMatchesFloat64(_ c: AttentionCase) {
        let layer = c.layer(), x = c.input()
        let y = layer(x, mask: c.causal ? .causal : .none)
        #expect(y.shape == [c.batch, c.length, c.modelSize], "\(c)")
        let reference = MultiHeadReference.forward(layer, x: x, options: c.referenceOptions).output
        let error = MultiHeadReference.maxError(y, reference)
        #expect(error <= Self.tolerance, "\(c): max error \(error)")
    }

    @Test(arguments: [
        (1, 4, 9, 8, 12, 2, 2, true),    // (B, L, Lc, d, dc, Hq, Hkv, bias)
        (2, 5, 3, 12, 7, 3, 1, false),
        (2, 1, 11, 16, 5, 4, 2, true),
    ])
    func crossAttentionMatchesFloat64(_ b: Int, _ l: Int, _ lc: Int, _ d: Int, _ dc: Int, _ hq: Int, _ hkv: Int, _ bias: Bool) {
        let name = "B\(b) L\(l) Lc\(lc) d\(d) dc\(dc) Hq\(hq) Hkv\(hkv) bias:\(bias)"
        let layer = MultiHeadReference.randomLayer(
            modelSize: d, heads: hq, keyValueHeads: hkv, contextSize: dc, bias: bias, seed: 3)
        let x = Tensor.randomNormal([b, l, d], seed: 4), context = Tensor.randomNormal([b, lc, dc], seed: 5)
        let y = layer(x, context: context)
        #expect(y.shape == [b, l, d], "\(name)")
        let reference = MultiHeadReference.forward(layer, x: x, context: context).output
        #expect(MultiHeadReference.maxError(y, reference) <= Self.tolerance, "\(name)")

        // Key padding on the context: row r sees only its first lengths[r] context positions.
        let lengths = (0..<b).map { max(1, lc - 2 * $0) }
        var options = MultiHeadReference.Options()
        options.keyLengths = lengths
        let padded = layer(x, context: context, mask: .keyPadding(lengths))
        let paddedReference = MultiHeadReference.forward(layer, x: x, context: context, options: options).output
        #expect(MultiHeadReference.maxError(padded, paddedReference) <= Self.tolerance, "\(name) keyPadding \(lengths)")
    }

    /// A grouped-query layer equals a multi-head layer whose K/V projections repeat each
    /// key/value head for every query head of its group.
    @Test(arguments: [(8, 4, 2), (12, 6, 3), (10, 5, 1), (16, 4, 1)])
    func groupedQueryEqualsRepeatedKeyValueHeads(_ d: Int, _ hq: Int, _ hkv: Int) {
        let name = "d\(d) Hq\(hq) Hkv\(hkv)"
        let grouped = MultiHeadReference.randomLayer(modelSize: d, heads: hq, keyValueHeads: hkv, bias: true, seed: 9)
        let headWidth = d / hq
        func repeated(_ linear: Linear) -> Linear {
            var rows: [Float] = [], biases: [Float] = []
            for h in 0..<hq {
                let g = h / (hq / hkv)
                rows += linear.weight.scalars[(g * headWidth * d)..<((g + 1) * headWidth * d)]
                if let bias = linear.bias { biases += bias.scalars[(g * headWidth)..<((g + 1) * headWidth)] }
            }
            return Linear(weight: Tensor(shape: [hq * headWidth, d], scalars: rows),
                          bias: linear.bias == nil ? nil : Tensor(shape: [hq * headWidth], scalars: biases))
        }
        let full = MultiHeadAttention(wq: grouped.wq, wk: repeated(grouped.wk), wv: repeated(grouped.wv), wo: grouped.wo, heads: hq)
        let x = Tensor.randomNormal([2, 7, d], seed: 10)
        for mask in [AttentionMask.none, .causal] {
            let error = grouped(x, mask: mask).maxAbsDifference(full(x, mask: mask))
            #expect(error <= 1e-5, "\(name) mask \(mask): \(error)")
        }
    }

    /// Causal attention: changing tokens after position i leaves outputs 0...i unchanged.
    @Test(arguments: attentionCases.filter(\.causal))
    func causalOutputIgnoresLaterTokens(_ c: AttentionCase) {
        guard c.length > 2 else { return }
        let layer = c.layer(), x = c.input()
        let cut = c.length / 2
        var changed = x.scalars
        for b in 0..<c.batch {
            for i in (cut + 1)..<c.length {
                for e in 0..<c.modelSize { changed[(b * c.length + i) * c.modelSize + e] += 3 }
            }
        }
        let y = layer(x, mask: .causal), z = layer(Tensor(shape: x.shape, scalars: changed), mask: .causal)
        let prefix = 0..<(cut + 1)
        let error = y.sliced(axis: 1, prefix).maxAbsDifference(z.sliced(axis: 1, prefix))
        #expect(error <= 1e-6, "\(c): prefix changed by \(error)")
        #expect(y.sliced(axis: 1, (cut + 1)..<c.length).maxAbsDifference(z.sliced(axis: 1, (cut + 1)..<c.length)) > 1e-3,
                "\(c): later outputs should change")
    }

    @Test func parameterNamesAreCheckpointStyle() {
        var generator = SeededGenerator(seed: 1)
        let layer = MultiHeadAttention(modelSize: 8, heads: 2, keyValueHeads: 1, bias: false, generator: &generator)
        #expect(layer.namedParameters.map(\.name) == ["wq.weight", "wk.weight", "wv.weight", "wo.weight"])
        #expect(layer.namedParameters.map(\.tensor.shape) == [[8, 8], [4, 8], [4, 8], [8, 8]])
        var withBias = MultiHeadAttention(modelSize: 8, heads: 2, generator: &generator)
        var names: [String] = []
        withBias.visitParameters(prefix: "blocks.0.attention") { name, _ in names.append(name) }
        #expect(names.first == "blocks.0.attention.wq.weight" && names.last == "blocks.0.attention.wo.bias" && names.count == 8)
    }

    @Test func wrongInputWidthStopsWithShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var generator = SeededGenerator(seed: 1)
            let layer = MultiHeadAttention(modelSize: 8, heads: 2, generator: &generator)
            _ = layer(Tensor.zeros([1, 3, 6]))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("x shape [1, 3, 6] must be [B, L, 8]"), "stderr: \(message)")
    }
}

// MARK: - Float64 reference


/// A Float64 multi-head attention written from the definition, sharing no code with the
/// library: per-position projections, per-head RoPE (rotate-half), ALiBi from Press et al.'s
/// formula, masked softmax, concatenation, W^O.
enum MultiHeadReference {
    struct Options {
        var causal = false
        var keyLengths: [Int]? = nil          // key padding per batch row
        var ropeBase: Double? = nil
        var alibi = false
        var positionOffset = 0
    }

    /// `y = x·Wᵀ + b` for every row of `x` (`rows × in`, flat).
    static func linear(_ x: [Double], rows: Int, _ layer: Linear) -> [Double] {
        let (n, m) = (layer.inputSize, layer.outputSize)
        let w = layer.weight.scalars, b = layer.bias?.scalars
        var y = [Double](repeating: 0, count: rows * m)
        for r in 0..<rows {
            for o in 0..<m {
                var s = b.map { Double($0[o]) } ?? 0
                for i in 0..<n { s += x[r * n + i] * Double(w[o * n + i]) }
                y[r * m + o] = s
            }
        }
        return y
    }

    /// Press et al.'s reference slopes (`get_slopes` from the ALiBi repository).
    static func alibiSlopes(_ n: Int) -> [Double] {
        func powerOfTwo(_ n: Int) -> [Double] {
            let start = pow(2.0, -pow(2.0, -(log2(Double(n)) - 3)))
            return (0..<n).map { start * pow(start, Double($0)) }
        }
        let l = log2(Double(n))
        if l == l.rounded() { return powerOfTwo(n) }
        let closest = Int(pow(2.0, l.rounded(.down)))
        let extra = alibiSlopes(2 * closest)
        return powerOfTwo(closest) + Array(stride(from: 0, to: extra.count, by: 2).map { extra[$0] }.prefix(n - closest))
    }

    /// Rotate-half RoPE of one head vector at `position`.
    static func rope(_ v: [Double], position: Int, base: Double) -> [Double] {
        let d = v.count, half = d / 2
        var out = v
        for i in 0..<half {
            let angle = Double(position) * pow(base, -2.0 * Double(i) / Double(d))
            out[i] = v[i] * cos(angle) - v[i + half] * sin(angle)
            out[i + half] = v[i + half] * cos(angle) + v[i] * sin(angle)
        }
        return out
    }

    /// The layer's output `[B, L, modelSize]` in Float64, plus the per-head weights
    /// `[B, Hq, L, Lc]`.
    static func forward(_ layer: MultiHeadAttention, x: Tensor, context: Tensor? = nil, options: Options = Options())
        -> (output: [Double], weights: [Double])
    {
        let (bn, l, dm) = (x.shape[0], x.shape[1], x.shape[2])
        let c = context ?? x
        let (lc, dc) = (c.shape[1], c.shape[2])
        let (hq, hkv) = (layer.heads, layer.keyValueHeads)
        let d = layer.wq.outputSize / hq
        let scale = Double(layer.scale ?? Float(1 / Double(d).squareRoot()))
        let slopes = alibiSlopes(hq)
        var output = [Double](repeating: 0, count: bn * l * dm)
        var weights = [Double](repeating: 0, count: bn * hq * l * lc)
        for b in 0..<bn {
            let xb = x.scalars[(b * l * dm)..<((b + 1) * l * dm)].map(Double.init)
            let cb = c.scalars[(b * lc * dc)..<((b + 1) * lc * dc)].map(Double.init)
            let q = linear(xb, rows: l, layer.wq), k = linear(cb, rows: lc, layer.wk), v = linear(cb, rows: lc, layer.wv)
            var concat = [Double](repeating: 0, count: l * hq * d)
            for h in 0..<hq {
                let g = h / (hq / hkv)
                func row(_ m: [Double], _ r: Int, _ heads: Int, _ head: Int) -> [Double] {
                    Array(m[(r * heads * d + head * d)..<(r * heads * d + (head + 1) * d)])
                }
                for i in 0..<l {
                    var qi = row(q, i, hq, h)
                    if let base = options.ropeBase, context == nil { qi = rope(qi, position: options.positionOffset + i, base: base) }
                    var scores = [Double?](repeating: nil, count: lc)
                    for j in 0..<lc {
                        if options.causal && j > i + (lc - l) { continue }
                        if let lengths = options.keyLengths, j >= lengths[b] { continue }
                        var kj = row(k, j, hkv, g)
                        if let base = options.ropeBase, context == nil { kj = rope(kj, position: options.positionOffset + j, base: base) }
                        var s = zip(qi, kj).reduce(0) { $0 + $1.0 * $1.1 } * scale
                        if options.alibi && context == nil { s -= slopes[h] * Double(abs(i + (lc - l) - j)) }
                        scores[j] = s
                    }
                    guard let m = scores.compactMap({ $0 }).max() else { continue }
                    let total = scores.compactMap { $0 }.reduce(0) { $0 + exp($1 - m) }
                    for j in 0..<lc {
                        guard let s = scores[j] else { continue }
                        let w = exp(s - m) / total
                        weights[((b * hq + h) * l + i) * lc + j] = w
                        let vj = row(v, j, hkv, g)
                        for e in 0..<d { concat[i * hq * d + h * d + e] += w * vj[e] }
                    }
                }
            }
            let y = linear(concat, rows: l, layer.wo)
            for i in 0..<(l * dm) { output[b * l * dm + i] = y[i] }
        }
        return (output, weights)
    }

    /// Largest |a − b|.
    static func maxError(_ t: Tensor, _ reference: [Double]) -> Double {
        precondition(t.count == reference.count, "maxError: \(t.count) vs \(reference.count) elements")
        return zip(t.scalars, reference).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
    }

    /// A layer with weights `N(0, 0.4²)` and (optionally) random biases, so that attention
    /// weights are far from uniform and every term matters.
    static func randomLayer(
        modelSize: Int, heads: Int, keyValueHeads: Int, headDimension: Int? = nil, contextSize: Int? = nil,
        bias: Bool, positionalEncoding: AttentionPositionalEncoding = .none, seed: UInt64
    ) -> MultiHeadAttention {
        var generator = SeededGenerator(seed: seed)
        var layer = MultiHeadAttention(
            modelSize: modelSize, heads: heads, keyValueHeads: keyValueHeads, headDimension: headDimension,
            contextSize: contextSize, bias: bias, positionalEncoding: positionalEncoding,
            standardDeviation: 0.4, generator: &generator)
        if bias {
            layer.visitParameters(prefix: "") { name, tensor in
                if name.hasSuffix("bias") { tensor = .randomNormal(tensor.shape, standardDeviation: 0.5, generator: &generator) }
            }
        }
        return layer
    }
}
