import Attention

/// `attend explain --json`: every intermediate tensor of the explained layer, the weights of
/// every layer and head, the focus row and the word-level view, as one JSON object.
///
/// Field names follow the seeds' notation: `X`, `W_Q`, `Q`, per head `scores` (QKᵀ),
/// `scaledScores` (÷√d_k), `weights` (softmax), `Z`; then `concatenated`, `W_O`, `output`.
/// A script can recompute each from the previous ones (the tests do).
public enum ExplainJSON {
    public static func make(_ source: any AttentionSource, options: ExplainOptions) -> JSONValue {
        checkPrecondition(options.layer >= 0 && options.layer < source.layerCount && options.head >= 0 && options.head < source.headCount,
            "ExplainJSON: options.layer \(options.layer) / options.head \(options.head) outside the source's \(source.layerCount) layers × \(source.headCount) heads")
        var members: [(String, JSONValue)] = [
            ("model", .string(source.modelDescription)),
            ("notes", .strings(source.notes)),
            ("tokens", .strings(source.tokens)),
            ("layerCount", .int(source.layerCount)),
            ("headCount", .int(source.headCount)),
            ("layer", .int(options.layer + 1)),
            ("head", .int(options.head + 1)),
        ]
        if let s = source.steps(layer: options.layer) { members.append(("steps", steps(s))) }
        members.append(("attention", .array(source.allWeights().map { .array($0.map(JSONValue.tensor)) })))
        if let focus = options.focus { members.append(("focus", self.focus(focus, source: source, options: options))) }
        if let grouping = source.wordGrouping {
            let aggregated = WordAggregation.aggregate(source.weights(layer: options.layer, head: options.head), grouping: grouping)
            members.append(("words", .object([
                ("labels", .strings(grouping.words)),
                ("wordOfToken", .array(grouping.wordOfToken.map { $0.map { .int($0 + 1) } ?? .null })),
                ("weights", .tensor(aggregated)),
            ])))
        }
        return .object(members)
    }

    static func steps(_ s: AttentionSteps) -> JSONValue {
        let heads: [JSONValue] = (0..<s.headCount).map { h in
            .object([
                ("head", .int(h + 1)),
                ("Q", .tensor(s.headQueries[h])), ("K", .tensor(s.headKeys[h])), ("V", .tensor(s.headValues[h])),
                ("scores", .tensor(s.scores[h])), ("scaledScores", .tensor(s.scaledScores[h])),
                ("weights", .tensor(s.weights[h])), ("Z", .tensor(s.headOutputs[h])),
            ])
        }
        return .object([
            ("d_model", .int(s.modelSize)), ("d_k", .int(s.headSize)), ("scale", .float(s.scale)),
            ("causal", .bool(s.isCausal)), ("bias", .bool(s.hasBias)),
            ("X", .tensor(s.input)), ("W_Q", .tensor(s.queryWeight)), ("W_K", .tensor(s.keyWeight)),
            ("W_V", .tensor(s.valueWeight)), ("Q", .tensor(s.queries)), ("K", .tensor(s.keys)), ("V", .tensor(s.values)),
            ("heads", .array(heads)),
            ("concatenated", .tensor(s.concatenated)), ("W_O", .tensor(s.outputWeight)), ("output", .tensor(s.output)),
            ("fusedKernelDifference", .float(s.fusedKernelDifference)),
        ])
    }

    static func focus(_ target: FocusToken.Target, source: any AttentionSource, options: ExplainOptions) -> JSONValue {
        switch target {
        case .word(let w):
            let grouping = checkNotNil(source.wordGrouping, "ExplainJSON.focus: a word focus on a source without word grouping")
            let aggregated = WordAggregation.aggregate(source.weights(layer: options.layer, head: options.head), grouping: grouping)
            let n = aggregated.shape[1]
            return .object([("word", .string(grouping.words[w])), ("index", .int(w + 1)),
                            ("weights", .floats(Array(aggregated.scalars[w * n..<(w + 1) * n])))])
        case .token(let i):
            let weights = source.weights(layer: options.layer, head: options.head)
            let n = weights.shape[1]
            var members: [(String, JSONValue)] = [
                ("token", .string(source.tokens[i])), ("index", .int(i + 1)),
                ("weights", .floats(Array(weights.scalars[i * n..<(i + 1) * n]))),
            ]
            if let s = source.steps(layer: options.layer) {
                let z = s.headOutputs[options.head]
                let dk = z.shape[1]
                members.append(("z", .floats(Array(z.scalars[i * dk..<(i + 1) * dk]))))
            }
            return .object(members)
        }
    }
}
