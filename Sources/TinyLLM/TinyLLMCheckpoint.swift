import Attention
import Foundation
import Training

/// Saving and loading TinyLLM models and training runs as safetensors files.
///
/// A run directory (`attend train --out DIR`) holds two files, each written atomically
/// (temporary file + rename, so a crash mid-write leaves the previous file intact):
/// - `checkpoint.safetensors`: Float32 weights under their checkpoint names, AdamW moments
///   as `optimizer.m.<name>` / `optimizer.v.<name>`, and in the header metadata `format`,
///   `configuration` (JSON of ``TinyLLMConfiguration``) and `training` (JSON: options, step,
///   AdamW step, data-generator state, corpus fingerprint). Everything `--resume` needs.
/// - `model.safetensors`: the weights alone in Float16 (half the size; loading widens them
///   back to Float32) with `format` and `configuration`: what `generate`, `eval` and the
///   bundled model use.
///
/// Python reads either file with `safetensors.safe_open(path, "np")`.
public enum TinyLLMCheckpoint {
    /// The `format` metadata value identifying TinyLLM files.
    public static let format = "swift-attention.tinyllm.v1"
    public static let checkpointFileName = "checkpoint.safetensors"
    public static let modelFileName = "model.safetensors"

    /// The part of a run's state that is not a tensor (stored as JSON in the metadata).
    struct TrainingRecord: Codable, Equatable {
        var options: TrainingOptions
        var step: Int
        var optimizerStep: Int
        /// The data generator's four state words, as hexadecimal (JSON numbers lose 64-bit precision).
        var dataGenerator: [String]
        var corpusFingerprint: String
        var corpusBytes: Int
    }

    // MARK: Saving

    /// Writes `checkpoint.safetensors` and `model.safetensors` for `trainer` into `directory`
    /// (created if needed).
    public static func save(_ trainer: TinyLLMTrainer, corpus: ByteCorpus, to directory: URL) throws {
        try createDirectory(directory)
        let g = trainer.dataGenerator.state
        let record = TrainingRecord(
            options: trainer.options, step: trainer.step, optimizerStep: trainer.optimizer.step,
            dataGenerator: [g.0, g.1, g.2, g.3].map { String($0, radix: 16) },
            corpusFingerprint: corpus.fingerprint, corpusBytes: corpus.count)
        var metadata = try modelMetadata(trainer.configuration)
        metadata["training"] = try json(record)
        let optimizerTensors = trainer.optimizer.state.map { item in
            (name: "optimizer." + item.name.dropFirst("adam.".count), tensor: item.tensor)
        }
        try write(trainer.model.namedParameters + optimizerTensors, metadata: metadata, storage: .float32,
                  to: directory.appendingPathComponent(checkpointFileName))
        try saveModel(trainer.model, to: directory.appendingPathComponent(modelFileName))
    }

    /// Writes the weights alone (Float16 by default) with the configuration, to the file `url`.
    public static func saveModel(_ model: TinyLLMModel, to url: URL, storage: SafeTensorsWriter.Storage = .float16) throws {
        try write(model.namedParameters, metadata: try modelMetadata(model.configuration), storage: storage, to: url)
    }

    package static func modelMetadata(_ configuration: TinyLLMConfiguration) throws -> [String: String] {
        ["format": format, "configuration": try json(configuration)]
    }

    static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String],
                      storage: SafeTensorsWriter.Storage, to url: URL) throws {
        do { try SafeTensorsWriter.write(tensors, metadata: metadata, storage: storage, to: url) } catch {
            throw TinyLLMError.unwritableFile(path: url.path, reason: "\(error)")
        }
    }

    static func createDirectory(_ directory: URL) throws {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TinyLLMError.unwritableFile(path: directory.path, reason: error.localizedDescription)
        }
    }

    package static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
