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
            throw PretrainedError.unsupportedArchitecture("model_type \"\(terminalSafe(modelType, limit: 60))\" in \(path)")
        }
        if modelType == nil && !architectures.contains(where: { $0.hasPrefix("Bert") }) {
            throw PretrainedError.unsupportedArchitecture("no model_type and architectures \(terminalSafe("\(architectures)", limit: 120)) in \(path)")
        }
        if let positions = json["position_embedding_type"] as? String, positions != "absolute" {
            throw PretrainedError.unsupportedArchitecture("position_embedding_type \"\(terminalSafe(positions, limit: 60))\" in \(path)")
        }
        let activationName = json["hidden_act"] as? String ?? "gelu"
        switch activationName {
        case "gelu": activation = .exact
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .tanh
        default: throw PretrainedError.unsupportedArchitecture("hidden_act \"\(terminalSafe(activationName, limit: 60))\" in \(path)")
        }

        // Every size is bounded (far above any released BERT) so that a hostile config.json
        // cannot make the loader plan billions of tensors before it looks at the weights.
        func integer(_ key: String, default value: Int? = nil, limit: Int) throws -> Int {
            let number: Int
            if let raw = json[key] {
                guard let exact = Self.exactInteger(raw) else {
                    throw PretrainedError.invalidConfiguration(path: path, reason: "\(key) must be a whole number, got \(terminalSafe("\(raw)", limit: 40))")
                }
                number = exact
            } else if let value {
                number = value
            } else {
                throw PretrainedError.invalidConfiguration(path: path, reason: "\(key) is missing")
            }
            guard number > 0, number <= limit else {
                throw PretrainedError.invalidConfiguration(path: path, reason: "\(key) is \(number); it must be in 1...\(limit)")
            }
            return number
        }
        vocabularySize = try integer("vocab_size", limit: 1 << 22)
        hiddenSize = try integer("hidden_size", limit: 1 << 16)
        layerCount = try integer("num_hidden_layers", limit: 1024)
        headCount = try integer("num_attention_heads", limit: 1024)
        intermediateSize = try integer("intermediate_size", limit: 1 << 18)
        maximumPositions = try integer("max_position_embeddings", default: 512, limit: 1 << 20)
        tokenTypeCount = try integer("type_vocab_size", default: 2, limit: 1 << 16)
        let epsilon = json["layer_norm_eps"].map { ($0 as? NSNumber)?.doubleValue ?? .nan } ?? 1e-12
        guard epsilon.isFinite, epsilon > 0, epsilon < 1, !(json["layer_norm_eps"] is Bool) else {
            throw PretrainedError.invalidConfiguration(
                path: path, reason: "layer_norm_eps must be a number in (0, 1), got \(terminalSafe("\(json["layer_norm_eps"] ?? "")", limit: 40))")
        }
        layerNormEpsilon = Float(epsilon)
        guard hiddenSize % headCount == 0 else {
            throw PretrainedError.invalidConfiguration(
                path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
    }

    /// A JSON number that is a whole number (not a Boolean) within ±2⁵³, else nil.
    static func exactInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !(value is Bool) else { return nil }
        let double = number.doubleValue
        guard double.isFinite, abs(double) < 9_007_199_254_740_992, double.rounded() == double else { return nil }
        return Int(double)
    }
}
