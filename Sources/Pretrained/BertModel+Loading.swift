import Attention
import Foundation

extension BertModel {
    /// Every parameter's checkpoint name and the shape `configuration` implies, in visiting order.
    public static func parameterShapes(_ c: BertConfiguration) -> [(name: String, shape: [Int])] {
        let h = c.hiddenSize, i = c.intermediateSize
        var shapes: [(name: String, shape: [Int])] = [
            ("embeddings.word_embeddings.weight", [c.vocabularySize, h]),
            ("embeddings.position_embeddings.weight", [c.maximumPositions, h]),
            ("embeddings.token_type_embeddings.weight", [c.tokenTypeCount, h]),
            ("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h]),
        ]
        for layer in 0..<c.layerCount {
            let p = "encoder.layer.\(layer)."
            for projection in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                shapes += [(p + projection + ".weight", [h, h]), (p + projection + ".bias", [h])]
            }
            shapes += [
                (p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h]),
                (p + "intermediate.dense.weight", [i, h]), (p + "intermediate.dense.bias", [i]),
                (p + "output.dense.weight", [h, i]), (p + "output.dense.bias", [h]),
                (p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h]),
            ]
        }
        return shapes
    }

    /// Builds the model from a source of named tensors; `tensor(name, shape)` must return a
    /// tensor of exactly `shape` (or throw).
    public init(configuration c: BertConfiguration, tensor: (String, [Int]) throws -> Tensor) throws {
        let shapes = Dictionary(uniqueKeysWithValues: Self.parameterShapes(c).map { ($0.name, $0.shape) })
        func load(_ name: String) throws -> Tensor {
            try tensor(name, checkNotNil(shapes[name], "BertModel: \(name) is missing from parameterShapes"))
        }
        func linear(_ name: String) throws -> Linear {
            Linear(weight: try load(name + ".weight"), bias: try load(name + ".bias"))
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(weight: try load(name + ".weight"), bias: try load(name + ".bias"), epsilon: c.layerNormEpsilon)
        }
        let embeddings = BertEmbeddings(
            words: Embedding(weight: try load("embeddings.word_embeddings.weight")),
            positions: Embedding(weight: try load("embeddings.position_embeddings.weight")),
            tokenTypes: Embedding(weight: try load("embeddings.token_type_embeddings.weight")),
            norm: try norm("embeddings.LayerNorm"))
        let layers = try (0..<c.layerCount).map { index in
            let p = "encoder.layer.\(index)."
            return BertLayer(
                query: try linear(p + "attention.self.query"), key: try linear(p + "attention.self.key"),
                value: try linear(p + "attention.self.value"),
                attentionOutput: try linear(p + "attention.output.dense"),
                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                intermediate: try linear(p + "intermediate.dense"), output: try linear(p + "output.dense"),
                outputNorm: try norm(p + "output.LayerNorm"))
        }
        self.init(configuration: c, embeddings: embeddings, layers: layers)
    }

    /// Loads the weights of a validated safetensors file. Names may carry a `bert.` prefix
    /// (checkpoints saved from `BertFor…` heads); extra tensors (pooler, heads, `position_ids`)
    /// are ignored. `path` names the file in errors.
    ///
    /// - Throws: ``PretrainedError/missingTensor(name:file:)``,
    ///   ``PretrainedError/shapeMismatch(name:expected:actual:)``,
    ///   ``PretrainedError/nonFiniteWeight(name:file:index:value:)``, or the file's
    ///   `SafeTensorsError` (e.g. a weight stored as an integer type).
    public init(configuration: BertConfiguration, weights file: SafeTensorsFile, path: String = "model.safetensors") throws {
        let prefix = file.entry(named: "embeddings.word_embeddings.weight") == nil
            && file.entry(named: "bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
        try self.init(configuration: configuration) { name, shape in
            guard let entry = file.entry(named: prefix + name) else {
                throw PretrainedError.missingTensor(name: prefix + name, file: path)
            }
            guard entry.shape == shape else {
                throw PretrainedError.shapeMismatch(name: prefix + name, expected: shape, actual: entry.shape)
            }
            let tensor = try file.tensor(named: prefix + name)
            if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw PretrainedError.nonFiniteWeight(name: prefix + name, file: path, index: bad, value: tensor.scalars[bad])
            }
            return tensor
        }
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face model folder.
    public init(modelDirectory directory: URL) throws {
        let configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        let url = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PretrainedError.missingFile(
                path: url.path, hint: "only safetensors weights are read; convert pytorch_model.bin with the safetensors package")
        }
        try self.init(configuration: configuration, weights: try SafeTensorsFile(contentsOf: url), path: url.path)
    }

    /// A model with random weights (`N(0, 0.02²)`, LayerNorm γ = 1, β = 0), for tests.
    public static func random(configuration: BertConfiguration, generator: inout SeededGenerator) -> BertModel {
        do {
            return try BertModel(configuration: configuration) { name, shape in
                if name.hasSuffix("LayerNorm.weight") { return .ones(shape) }
                if name.hasSuffix("LayerNorm.bias") { return .zeros(shape) }
                return .randomNormal(shape, standardDeviation: 0.02, generator: &generator)
            }
        } catch {
            // The builder throws only what its closure throws, and this closure never throws.
            fatalError("BertModel.random: the builder threw \(error) from a closure that cannot throw")
        }
    }
}
