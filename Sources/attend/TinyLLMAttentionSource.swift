import Attention
import AttentionViz
import Foundation
import TinyLLM

/// A trained TinyLLM (byte-level GPT) as an ``AttentionSource``: tokens are bytes, every layer's
/// attention comes with all its intermediates (after the layer norm that feeds it, with the
/// causal mask and RoPE when the model uses them), and the bytes are grouped into words for
/// the word-level view.
struct TinyLLMAttentionSource: AttentionSource {
    let modelDescription: String
    let notes: [String]
    let tokens: [String]
    let wordGrouping: WordGrouping?
    let contextLength: Int
    let headCount: Int
    let layerSteps: [AttentionSteps]
    let model: TinyLLMModel
    let bytes: [UInt8]

    /// Runs `model` on `bytes` (cut to the context when `truncate`, else refused when longer).
    init(model: TinyLLMModel, name: String, bytes: [UInt8], truncate: Bool) throws {
        let c = model.configuration
        var bytes = bytes
        var notes: [String] = []
        if bytes.count > c.contextLength {
            let dropped = bytes[c.contextLength...].map(TextSegmentation.byteLabel)
            guard truncate else {
                throw VizError.textTooLong(tokenCount: bytes.count, context: c.contextLength, cut: TextInput.preview(dropped))
            }
            notes.append("The text was cut to the model's context of \(c.contextLength) bytes; dropped: \(TextInput.preview(dropped))")
            bytes = Array(bytes[..<c.contextLength])
        }
        let l = bytes.count, d = c.width
        // The model's own forward (TinyLLMModel.logits), keeping each attention layer's input.
        var x = model.embedding(bytes.map(Int.init)).reshaped([1, l, d])
        if let positions = model.positions { x = positions(x, startPosition: 0) }
        var steps: [AttentionSteps] = []
        for block in model.blocks {
            let attentionInput = block.placement == .preNorm ? block.norm1(x) : x
            steps.append(AttentionSteps(layer: block.attention, input: attentionInput.reshaped([l, d]), causal: true))
            x = block(x, mask: .causal)
        }
        self.layerSteps = steps
        self.model = model
        self.bytes = bytes
        self.tokens = TextSegmentation.characterByteLabels(bytes)
        self.wordGrouping = WordGrouping(bytes: bytes)
        self.contextLength = c.contextLength
        self.headCount = c.heads
        self.modelDescription = "TinyLLM \(name): \(c.layers) layers × \(c.heads) heads, d_model = \(d), "
            + "d_k = \(c.headDimension), bytes as tokens, causal"
        notes.append("Tokens are bytes (␠ is a space); the X shown is each layer's normalised input. "
            + "A causal mask hides later bytes, so each row attends only to itself and earlier bytes.")
        self.notes = notes
    }

    var layerCount: Int { layerSteps.count }
    var byteText: [UInt8]? { bytes }
    func weights(layer: Int, head: Int) -> Tensor { layerSteps[layer].weights[head] }
    func steps(layer: Int) -> AttentionSteps? { layerSteps[layer] }

    /// Every byte's knockouts (T(T+1)/2 runs, batched); nil past `knockoutTokenLimit.tinyLLM` bytes.
    func knockoutEffects() -> [[Float]]? {
        bytes.count <= knockoutTokenLimit.tinyLLM ? model.knockoutMatrix(tokens: bytes.map(Int.init)) : nil
    }

    var knockoutMeasure: String { "KL(p ‖ p̃) in nats of the next byte at the focus" }
}

/// Recognises a TinyLLM run directory (`model.safetensors` or `checkpoint.safetensors`) or a
/// `.safetensors` file, and loads it with `TinyLLMCheckpoint.loadModel(from:)`.
struct TinyLLMSourceLoader: AttentionSourceLoader {
    var name: String { "TinyLLM" }

    func recognizes(directory: String) -> Bool {
        let url = URL(fileURLWithPath: directory)
        if url.pathExtension == "safetensors" { return true }
        return [TinyLLMCheckpoint.modelFileName, TinyLLMCheckpoint.checkpointFileName].contains {
            FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
        }
    }

    func load(directory: String, bytes: [UInt8], truncate: Bool) throws -> any AttentionSource {
        let model: TinyLLMModel
        do { model = try TinyLLMCheckpoint.loadModel(from: directory) } catch {
            throw VizError.unsupportedModel(path: directory, detail: "\(error)")
        }
        return try TinyLLMAttentionSource(model: model, name: "(\(URL(fileURLWithPath: directory).lastPathComponent))",
                                          bytes: bytes, truncate: truncate)
    }

    /// `--model tinyllm` / `--model tinyllm-utf8`: a model bundled with this build.
    func loadBundled(_ which: TinyLLMBundledModel = .shakespeare, bytes: [UInt8], truncate: Bool) throws -> any AttentionSource {
        let model: TinyLLMModel
        do { model = try TinyLLMCheckpoint.loadBundledModel(which) } catch {
            throw VizError.unsupportedModel(path: "\(which.rawValue) (bundled)", detail: "\(error)")
        }
        return try TinyLLMAttentionSource(model: model, name: which == .shakespeare ? "(bundled)" : "\(which.rawValue) (bundled)",
                                          bytes: bytes, truncate: truncate)
    }
}
