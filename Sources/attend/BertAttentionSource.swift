import Attention
import AttentionViz
import Foundation
import Pretrained

/// Recognises and loads BERT-family encoder folders (the same loader as `attend embed`).
struct BertSourceLoader {
    /// A folder with `config.json` and `vocab.txt` (a Hugging Face / sentence-transformers layout).
    static func isBertFolder(_ directory: String) -> Bool {
        let url = URL(fileURLWithPath: directory)
        return ["config.json", "vocab.txt"].allSatisfy {
            FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
        }
    }

    /// Loads the encoder, turning loader errors into a message naming the folder.
    static func loadEncoder(_ directory: String) throws -> SentenceEncoder {
        do { return try SentenceEncoder(modelDirectory: URL(fileURLWithPath: directory)) } catch {
            throw VizError.unsupportedModel(path: directory, detail: "\(error)")
        }
    }
}
