import Attention
import Foundation

extension WordPieceTokenizer {
    /// Loads the tokenizer of a Hugging Face model folder: `vocab.txt` (required),
    /// `tokenizer_config.json` (lower-casing, accent stripping, CJK splitting, special token
    /// names; BERT's defaults when absent) and `sentence_bert_config.json`'s
    /// `max_seq_length` (sentence-transformers truncates there, e.g. 256 for
    /// all-MiniLM-L6-v2), else `model_max_length`, capped at `positionLimit`.
    public init(modelDirectory directory: URL, positionLimit: Int = 512) throws {
        let vocabularyURL = directory.appendingPathComponent("vocab.txt")
        let text = try ModelFiles.readText(vocabularyURL, hint: "a BERT model folder needs vocab.txt")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else {
            throw PretrainedError.unreadableFile(path: vocabularyURL.path, reason: "the vocabulary is empty")
        }

        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let config = try ModelFiles.readOptionalJSONObject(configURL) ?? [:]
        func flag(_ key: String, default value: Bool) -> Bool { (config[key] as? Bool) ?? value }
        func token(_ key: String, default value: String) -> String {
            // Newer files store special tokens as {"content": "[CLS]", ...}.
            if let text = config[key] as? String { return text }
            if let object = config[key] as? [String: Any], let text = object["content"] as? String { return text }
            return value
        }
        let basic = BasicTokenizer(
            lowercases: flag("do_lower_case", default: true),
            stripsAccents: config["strip_accents"] as? Bool,
            splitsCJKIdeographs: flag("tokenize_chinese_chars", default: true))

        var maximumLength = positionLimit
        if let modelMax = config["model_max_length"] as? Int, modelMax > 0 { maximumLength = min(maximumLength, modelMax) }
        let sentenceURL = directory.appendingPathComponent("sentence_bert_config.json")
        if let sentence = try ModelFiles.readOptionalJSONObject(sentenceURL),
           let length = sentence["max_seq_length"] as? Int {
            guard length >= 2 else {
                throw PretrainedError.invalidConfiguration(path: sentenceURL.path, reason: "max_seq_length \(length) is below 2")
            }
            maximumLength = min(length, positionLimit)
        }
        try self.init(
            vocabulary: lines, basicTokenizer: basic, maximumSequenceLength: maximumLength,
            classificationToken: token("cls_token", default: "[CLS]"), separatorToken: token("sep_token", default: "[SEP]"),
            unknownToken: token("unk_token", default: "[UNK]"), paddingToken: token("pad_token", default: "[PAD]"),
            maskToken: token("mask_token", default: "[MASK]"))
    }
}

/// Reading the small text and JSON files of a model folder, with errors that name the file.
enum ModelFiles {
    static func readText(_ url: URL, hint: String) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PretrainedError.missingFile(path: url.path, hint: hint)
        }
        let data: Data
        do { data = try FileAccess.read(url.path) } catch {
            throw PretrainedError.unreadableFile(path: url.path, reason: error.reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PretrainedError.unreadableFile(path: url.path, reason: "not UTF-8 text")
        }
        return text
    }

    static func readJSONObject(_ url: URL, hint: String) throws -> [String: Any] {
        let text = try readText(url, hint: hint)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw PretrainedError.unreadableFile(path: url.path, reason: "invalid JSON (\(error.localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw PretrainedError.unreadableFile(path: url.path, reason: "expected a JSON object at the top level")
        }
        return dictionary
    }

    /// `directory/relative`, refused unless it stays inside `directory` once `..` and symbolic
    /// links are resolved: paths written in a model's files never reach outside its folder.
    static func inside(_ directory: URL, _ relative: String, file: URL) throws -> URL {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath().path
        let target = directory.appendingPathComponent(relative).standardizedFileURL.resolvingSymlinksInPath()
        guard !relative.hasPrefix("/"), target.path == root || target.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw PretrainedError.invalidConfiguration(
                path: file.path, reason: "the path \"\(terminalSafe(relative, limit: 80))\" leads outside the model folder")
        }
        return target
    }

    /// The JSON object in `url`, or nil when the file does not exist (a malformed file still throws).
    static func readOptionalJSONObject(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try readJSONObject(url, hint: "")
    }
}
