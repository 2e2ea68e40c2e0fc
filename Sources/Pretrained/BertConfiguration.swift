import Attention
import Foundation

/// The shape of a BERT-family encoder, read from a Hugging Face `config.json`.
///
/// Supported: `model_type` `bert` (or absent with a `Bert…` architecture), absolute learned
/// positions, GELU (exact `gelu`, or the tanh forms `gelu_new`/`gelu_pytorch_tanh`). Anything
/// else (RoBERTa's offset positions, relative positions, other activations) is refused with
/// ``PretrainedError/unsupportedArchitecture(_:)`` rather than silently computing other numbers.
public struct BertConfiguration: Sendable, Equatable, Codable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var maximumPositions: Int
    public var tokenTypeCount: Int
    public var layerNormEpsilon: Float
    public var activation: GELUApproximation

    /// Width of one head: `hiddenSize / headCount`.
    public var headSize: Int { hiddenSize / headCount }

    public init(
        vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int,
        maximumPositions: Int = 512, tokenTypeCount: Int = 2, layerNormEpsilon: Float = 1e-12,
        activation: GELUApproximation = .exact
    ) {
        self.vocabularySize = vocabularySize; self.hiddenSize = hiddenSize; self.layerCount = layerCount
        self.headCount = headCount; self.intermediateSize = intermediateSize
        self.maximumPositions = maximumPositions; self.tokenTypeCount = tokenTypeCount
        self.layerNormEpsilon = layerNormEpsilon; self.activation = activation
    }

    /// Reads and validates `config.json`.
    public init(contentsOf url: URL) throws {
        let json = try ModelFiles.readJSONObject(url, hint: "a Hugging Face model folder needs config.json")
        try self.init(json: json, path: url.path)
    }

    /// Validates a parsed `config.json` object; `path` names the file in errors.
    public init(json: [String: Any], path: String = "config.json") throws {
        let modelType = json["model_type"] as? String
        let architectures = json["architectures"] as? [String] ?? []
        if let modelType, modelType != "bert" {
            throw PretrainedError.unsupportedArchitecture("model_type \"\(modelType)\" in \(path)")
        }
        if modelType == nil && !architectures.contains(where: { $0.hasPrefix("Bert") }) {
            throw PretrainedError.unsupportedArchitecture("no model_type and architectures \(architectures) in \(path)")
        }
        if let positions = json["position_embedding_type"] as? String, positions != "absolute" {
            throw PretrainedError.unsupportedArchitecture("position_embedding_type \"\(positions)\" in \(path)")
        }
        let activationName = json["hidden_act"] as? String ?? "gelu"
        switch activationName {
        case "gelu": activation = .exact
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .tanh
        default: throw PretrainedError.unsupportedArchitecture("hidden_act \"\(activationName)\" in \(path)")
        }

        func integer(_ key: String, default value: Int? = nil) throws -> Int {
            guard let number = (json[key] as? NSNumber)?.intValue ?? value else {
                throw PretrainedError.invalidConfiguration(path: path, reason: "\(key) is missing or not a number")
            }
            guard number > 0 else {
                throw PretrainedError.invalidConfiguration(path: path, reason: "\(key) is \(number); it must be positive")
            }
            return number
        }
        vocabularySize = try integer("vocab_size")
        hiddenSize = try integer("hidden_size")
        layerCount = try integer("num_hidden_layers")
        headCount = try integer("num_attention_heads")
        intermediateSize = try integer("intermediate_size")
        maximumPositions = try integer("max_position_embeddings", default: 512)
        tokenTypeCount = try integer("type_vocab_size", default: 2)
        layerNormEpsilon = Float((json["layer_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-12)
        guard hiddenSize % headCount == 0 else {
            throw PretrainedError.invalidConfiguration(
                path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
    }
}
