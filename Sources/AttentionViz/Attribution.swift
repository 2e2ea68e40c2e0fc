import Attention

/// What each token contributes to one focus token, side by side (`attend attribute`): the
/// attention weights, attention rollout, and the causal effects of knocking out edges and
/// ablating heads. Encodes to exactly the JSON that `attend attribute --json` prints:
///
///     {"tokens": [String], "focus": Int (0-based), "weights": [[[Float]]] ([layer][head][token]),
///      "rollout": [Float], "knockout": [Float], "headAblation": [[Float]] ([layer][head])}
///
/// Weights show where the focus token *looks*; knockout and head ablation show what its
/// output actually *depends on*. They need not agree (Jain & Wallace 2019, "Attention is
/// not explanation"); ``rankCorrelation`` and ``disagreements(count:)`` measure by how much.
public struct Attribution: Codable, Sendable, Equatable {
    /// Token labels, as the model's tokenizer spells them (`[CLS]`, `##` pieces, bytes).
    public var tokens: [String]
    /// The focus token's index into ``tokens``, 0-based.
    public var focus: Int
    /// `weights[l][h][j]`: the focus row of layer `l`, head `h` (sums to 1 over `j`).
    public var weights: [[[Float]]]
    /// The focus row of the attention rollout (see ``AttributionMath/rollout(_:)``), sums to 1.
    public var rollout: [Float]
    /// `knockout[j]`: the output change when the edge focus→j is removed everywhere.
    public var knockout: [Float]
    /// `headAblation[l][h]`: the output change when head `h` of layer `l` is zeroed.
    public var headAblation: [[Float]]

    public init(tokens: [String], focus: Int, weights: [[[Float]]], rollout: [Float], knockout: [Float], headAblation: [[Float]]) {
        self.tokens = tokens; self.focus = focus; self.weights = weights
        self.rollout = rollout; self.knockout = knockout; self.headAblation = headAblation
    }

    /// Assembles the report from a model's measured ``AttributionEffects``; the rollout is
    /// computed here from the full weight matrices.
    /// - Precondition: the effects have one weight matrix `[H, T, T]` per layer and `T` knockouts.
    public init(tokens: [String], focus: Int, effects: AttributionEffects) {
        let t = tokens.count
        checkPrecondition(focus >= 0 && focus < t && effects.knockout.count == t
                && effects.weights.allSatisfy { $0.rank == 3 && $0.shape[1] == t && $0.shape[2] == t },
            "Attribution: \(t) tokens, focus \(focus), \(effects.knockout.count) knockouts, weights \(effects.weights.map(\.shape))")
        let weights = effects.weights.map { layer in
            (0..<layer.shape[0]).map { h in
                Array(layer.scalars[((h * t + focus) * t)..<((h * t + focus + 1) * t)])
            }
        }
        let rollout = AttributionMath.rollout(effects.weights)[focus].map(Float.init)
        self.init(tokens: tokens, focus: focus, weights: weights, rollout: rollout,
                  knockout: effects.knockout, headAblation: effects.headAblation)
    }

    /// The focus row averaged over every layer and head: `w̄ⱼ = (1/(N·H)) Σₗ Σₕ A_{l,h}[focus, j]`.
    public var meanWeights: [Float] {
        let count = weights.reduce(0) { $0 + $1.count }
        guard count > 0 else { return [Float](repeating: 0, count: tokens.count) }
        return tokens.indices.map { j in
            Float(weights.reduce(0.0) { sum, layer in layer.reduce(sum) { $0 + Double($1[j]) } } / Double(count))
        }
    }

    /// Tokens the focus can see at all: for a causal model the ones up to the focus (later
    /// tokens have weight 0 and effect 0 by construction and would only inflate the agreement).
    public var visibleTokens: [Int] {
        let causal = weights.allSatisfy { $0.allSatisfy { row in row[(focus + 1)...].allSatisfy { $0 == 0 } } }
        return causal && focus + 1 < tokens.count ? Array(0...focus) : Array(tokens.indices)
    }

    /// Spearman's ρ between ``meanWeights`` and ``knockout`` over ``visibleTokens`` (nil with
    /// fewer than 3 tokens or when either side is constant).
    public var rankCorrelation: Float? {
        let visible = visibleTokens
        guard visible.count >= 3 else { return nil }
        let mean = meanWeights
        return AttributionMath.spearman(visible.map { mean[$0] }, visible.map { knockout[$0] }).map(Float.init)
    }

    /// One token where the weight ranking and the knockout ranking disagree.
    public struct Disagreement: Sendable, Equatable {
        public var token: Int
        /// 1 = the most attended (by mean weight) among the visible tokens.
        public var weightRank: Int
        /// 1 = the largest knockout effect among the visible tokens.
        public var knockoutRank: Int
    }

    /// The `count` visible tokens with the largest `|weightRank − knockoutRank|` (largest first,
    /// ties by token order); only tokens whose ranks differ.
    public func disagreements(count: Int = 3) -> [Disagreement] {
        let visible = visibleTokens
        let mean = meanWeights
        let weightRanks = AttributionMath.ranks(visible.map { -Double(mean[$0]) })
        let knockoutRanks = AttributionMath.ranks(visible.map { -Double(knockout[$0]) })
        let all = visible.indices.map {
            Disagreement(token: visible[$0], weightRank: Int(weightRanks[$0].rounded(.down)),
                         knockoutRank: Int(knockoutRanks[$0].rounded(.down)))
        }
        return all.filter { $0.weightRank != $0.knockoutRank }
            .sorted { abs($0.weightRank - $0.knockoutRank) > abs($1.weightRank - $1.knockoutRank) }
            .prefix(count).map { $0 }
    }
}

/// The arithmetic behind ``Attribution``, in Double.
public enum AttributionMath {
    /// Attention rollout (Abnar & Zuidema 2020): with `Āₗ = mean_h A_{l,h}` (`[T, T]`, rows sum
    /// to 1), the residual connection folded in as `Âₗ = 0.5·Āₗ + 0.5·I`, and
    ///
    ///     R = Â_N · Â_{N−1} ⋯ Â_1
    ///
    /// row `i` of `R` is how much of token `i`'s last-layer representation traces back, through
    /// every path of attention edges, to each input token. Rows of `R` sum to 1.
    ///
    /// - Parameter layers: one `[H, T, T]` weight tensor per layer, first layer first.
    /// - Returns: `R`, `[T][T]`.
    public static func rollout(_ layers: [Tensor]) -> [[Double]] {
        checkPrecondition(!layers.isEmpty, "AttributionMath.rollout: no layers")
        let t = layers[0].shape[1]
        var r = (0..<t).map { i in (0..<t).map { j in i == j ? 1.0 : 0.0 } }
        for layer in layers {
            checkPrecondition(layer.rank == 3 && layer.shape[1] == t && layer.shape[2] == t,
                "AttributionMath.rollout: layer weights \(layer.shape) must be [H, \(t), \(t)]")
            let h = layer.shape[0]
            var a = [[Double]](repeating: [Double](repeating: 0, count: t), count: t)
            layer.withUnsafeBufferPointer { w in
                for head in 0..<h { for i in 0..<t { for j in 0..<t { a[i][j] += Double(w[(head * t + i) * t + j]) } } }
            }
            for i in 0..<t { for j in 0..<t { a[i][j] = 0.5 * a[i][j] / Double(h) + (i == j ? 0.5 : 0) } }
            // R ← Âₗ · R (the new layer on the left).
            r = (0..<t).map { i in (0..<t).map { j in (0..<t).reduce(0.0) { $0 + a[i][$1] * r[$1][j] } } }
        }
        return r
    }

    /// Ranks from 1 (smallest) with ties given their average rank ("fractional ranking").
    public static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let average = Double(start + end) / 2 + 1
            for k in start...end { ranks[order[k]] = average }
            start = end + 1
        }
        return ranks
    }

    /// Spearman's rank correlation: Pearson's correlation of the fractional ranks,
    /// `ρ = cov(rank x, rank y) / (σ_rank x · σ_rank y)`, in −1…1; nil for fewer than 2 values
    /// or a constant side.
    public static func spearman(_ x: [Float], _ y: [Float]) -> Double? {
        checkPrecondition(x.count == y.count, "AttributionMath.spearman: \(x.count) and \(y.count) values")
        guard x.count >= 2 else { return nil }
        let rx = ranks(x.map(Double.init)), ry = ranks(y.map(Double.init))
        let n = Double(x.count)
        let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            sxy += (rx[i] - mx) * (ry[i] - my); sxx += (rx[i] - mx) * (rx[i] - mx); syy += (ry[i] - my) * (ry[i] - my)
        }
        guard sxx > 0 && syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }
}

/// Bad `--focus` for `attend attribute`, or anything else the user must fix.
public struct AttributionError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `--focus` for `attend attribute`: `WORD` (the first token equal to it, exactly, else
/// ignoring case, so `it` finds an uncased model's `it` and `The` finds `the`), `WORD#k` (its
/// k-th occurrence, from 1), or `#N` (the token at index N, **0-based** like the JSON `focus`).
/// For byte-level models, a WORD that is no single token picks the last byte of that word
/// (the first position that has read the whole word).
public enum AttributionFocus {
    /// - Parameter words: for byte-level models, the words and the index of each one's last byte.
    /// - Throws: ``AttributionError`` naming the tokens.
    public static func resolve(_ query: String, tokens: [String], words: [(label: String, lastToken: Int)] = []) throws -> Int {
        let listing = tokens.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " ")
        if query.hasPrefix("#"), let index = Int(query.dropFirst()) {
            guard index >= 0 && index < tokens.count else {
                throw AttributionError("--focus \(query) is out of range: #N counts tokens from 0, and there are \(tokens.count) (#0–#\(tokens.count - 1)). Tokens: \(listing)")
            }
            return index
        }
        var name = query, occurrence = 1
        if let hash = query.lastIndex(of: "#"), hash != query.startIndex,
           let n = Int(query[query.index(after: hash)...]), n >= 1 {
            name = String(query[..<hash]); occurrence = n
        }
        if let index = FocusToken.find(name, occurrence: occurrence, in: tokens) { return index }
        if let index = FocusToken.find(name, occurrence: occurrence, in: words.map(\.label)) { return words[index].lastToken }
        throw AttributionError("no token '\(query)' to focus on. Tokens (index:token): \(listing). "
            + "Use WORD, WORD#2 for its second occurrence, or #N for the token at index N (from 0).")
    }
}
