import ArgumentParser
import AttentionViz
import Foundation
import TinyLLM

/// Model folders `--model DIR` can read, one loader per model family. A BERT adapter adds
/// its loader here (see `AttentionSourceLoader`).
let attendModelLoaders: [any AttentionSourceLoader] = [BertSourceLoader(), TinyLLMSourceLoader()]

/// The input options `attend explain` and `attend view` share: the text, the model and how
/// strict to be about the text.
struct VizInputOptions: ParsableArguments {
    @Argument(help: "The text to run through attention (default: \"The cat sat on the mat\", the seeds' sentence).")
    var text: String?

    @Option(name: .customLong("file"), help: ArgumentHelp("Read the text from a file ('-' for standard input); bytes are kept as they are.", valueName: "path"))
    var file: String?

    @Option(help: ArgumentHelp("A BERT-family encoder folder (config.json, vocab.txt, model.safetensors, e.g. all-MiniLM-L6-v2), a TinyLLM run folder or .safetensors file, or 'tinyllm' / 'tinyllm-utf8' for a bundled model (Shakespeare / multilingual UTF-8). Without it, a small seeded random model is used (and the output says so).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Toy model tokens: 'words' (as in the seeds) or 'bytes' (as a byte-level model sees text; adds the word-level view).", valueName: "words|bytes"))
    var tokens: String = "words"

    @Option(help: "Seed of the toy model's random weights.")
    var seed: UInt64 = 7

    @Flag(help: "Keep the first tokens that fit the model's context instead of refusing a longer text.")
    var truncate = false

    @Flag(name: .customLong("allow-invalid-utf8"), help: "Accept text that is not valid UTF-8 (each bad byte is shown as \\xNN).")
    var allowInvalidUTF8 = false

    static let defaultText = "The cat sat on the mat"

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("Give the text either as an argument or with --file, not both.") }
        if ToyAttentionModel.Tokenization(rawValue: tokens) == nil {
            throw ValidationError("--tokens must be 'words' or 'bytes', not '\(tokens)'.")
        }
    }

    /// The raw bytes of the text, checked (empty, UTF-8).
    func bytes() throws -> [UInt8] {
        let raw: [UInt8]
        if let file { raw = try TextInput.read(path: file) }
        else if let text { raw = TextInput.rawBytes(ofArgument: text) }
        else { raw = Array(Self.defaultText.utf8) }
        return try TextInput.validated(raw, allowInvalidUTF8: allowInvalidUTF8)
    }

    /// The model run on the text: a loader's model for `--model`, else the toy model.
    func makeSource() throws -> (source: any AttentionSource, title: String) {
        let bytes = try bytes()
        let title = TextSegmentation.label(bytes.prefix(200)) + (bytes.count > 200 ? "…" : "")
        if let given = model, let bundled = TinyLLMBundledModel.named(given) {
            return (try TinyLLMSourceLoader().loadBundled(bundled, bytes: bytes, truncate: truncate), title)
        }
        if let given = model {
            let model = try resolveModelArgument(given)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory),
                  isDirectory.boolValue || model.hasSuffix(".safetensors") else {
                throw VizError.modelDirectoryMissing(path: model)
            }
            guard let loader = attendModelLoaders.first(where: { $0.recognizes(directory: model) }) else {
                throw VizError.unsupportedModel(path: model, detail:
                    "it is not a TinyLLM model folder (no model.safetensors or checkpoint.safetensors) "
                    + "nor a BERT-family encoder folder (config.json and vocab.txt); "
                    + "train one with `attend train`, or run without --model for the toy model")
            }
            return (try loader.load(directory: model, bytes: bytes, truncate: truncate), title)
        }
        var configuration = ToyAttentionModel.Configuration()
        configuration.seed = seed
        configuration.tokenization = ToyAttentionModel.Tokenization(rawValue: tokens) ?? .words
        if configuration.tokenization == .bytes { configuration.contextLength = 128 }
        return (try ToyAttentionModel(bytes: bytes, configuration: configuration, truncate: truncate), title)
    }
}

/// `--layer` / `--head`, 1-based as printed.
struct LayerHeadOptions: ParsableArguments {
    @Option(help: "Layer to show, from 1.")
    var layer: Int = 1

    @Option(help: "Head to walk through (explain) or to draw (SVG), from 1.")
    var head: Int = 1

    /// 0-based indices, checked against the model.
    func resolved(for source: any AttentionSource) throws -> (layer: Int, head: Int) {
        guard layer >= 1 && layer <= source.layerCount else {
            throw VizError.indexOutOfRange(name: "layer", value: layer, count: source.layerCount)
        }
        guard head >= 1 && head <= source.headCount else {
            throw VizError.indexOutOfRange(name: "head", value: head, count: source.headCount)
        }
        return (layer - 1, head - 1)
    }
}
