import Attention
import Foundation
import Pretrained

/// A tiny random BERT written to a temporary model folder, for tests that run without the
/// real model: 2 layers, 4 heads of width 4, vocabulary of 40 ids.
struct TinyBert {
    static let configuration = BertConfiguration(
        vocabularySize: 40, hiddenSize: 16, layerCount: 2, headCount: 4, intermediateSize: 24,
        maximumPositions: 24, tokenTypeCount: 2, layerNormEpsilon: 1e-12)

    static let configJSON = """
        {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "hidden_size": 16,
         "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 24, "vocab_size": 40,
         "max_position_embeddings": 24, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "position_embedding_type": "absolute"}
        """
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + "abcdefghijklmnopqrstuvwxyz".map(String.init) + [",", ".", "!", "##s", "##e", "the", "it", "was", "cat"]

    let model: BertModel
    let folder: URL

    /// Writes the model folder (config, weights, vocabulary, pooling) under a fresh temporary directory.
    init(seed: UInt64 = 7) throws {
        var generator = SeededGenerator(seed: seed)
        // Larger weights than BERT's 0.02 so attention is far from uniform and every term matters.
        let base = BertModel.random(configuration: Self.configuration, generator: &generator)
        var model = base
        model.visitParameters(prefix: "") { name, tensor in
            if name.hasSuffix("LayerNorm.weight") || name.hasSuffix("LayerNorm.bias") {
                tensor = tensor + .randomUniform(tensor.shape, low: -0.2, high: 0.2, generator: &generator)
            } else {
                tensor = tensor * Tensor(25)
            }
        }
        self.model = model
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("attend-tinybert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try Self.configJSON.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try (Self.vocabulary.joined(separator: "\n") + "\n").write(
            to: folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        try #"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#
            .write(to: folder.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        try #"{"word_embedding_dimension":16,"pooling_mode_mean_tokens":true,"pooling_mode_cls_token":false,"pooling_mode_max_tokens":false}"#
            .write(to: folder.appendingPathComponent("1_Pooling/config.json"), atomically: true, encoding: .utf8)
        try SafeTensorsWriter.write(model.namedParameters, metadata: ["format": "pt"], to: weightsURL)
    }

    var weightsURL: URL { folder.appendingPathComponent("model.safetensors") }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}
