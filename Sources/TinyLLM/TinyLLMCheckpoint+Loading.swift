import Attention
import Foundation
import Training

extension TinyLLMCheckpoint {
    /// The model file inside a run directory: `model.safetensors` when present, else
    /// `checkpoint.safetensors`; a path to a file is used as is.
    public static func modelFile(at path: String) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TinyLLMError.unreadableFile(path: path, reason: "no such file or directory")
        }
        let url = URL(fileURLWithPath: path)
        guard isDirectory.boolValue else { return url }
        for name in [modelFileName, checkpointFileName] where FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) {
            return url.appendingPathComponent(name)
        }
        throw TinyLLMError.unreadableFile(path: path,
            reason: "the directory holds neither \(modelFileName) nor \(checkpointFileName); train one with `attend train --corpus FILE --out \(path)`")
    }

    /// Loads the model (weights and configuration) from a file or run directory.
    /// - Throws: ``TinyLLMError`` naming the file and what is wrong with it.
    public static func loadModel(from path: String) throws -> TinyLLMModel {
        let url = try modelFile(at: path)
        return try loadModel(file: try open(url), path: url.path)
    }

    /// Loads the model stored in a parsed safetensors file. Every parameter must be present
    /// with its configured shape and finite values; tensors other than parameters are
    /// allowed only under `optimizer.`.
    public static func loadModel(file: SafeTensorsFile, path: String) throws -> TinyLLMModel {
        func fail(_ reason: String) -> TinyLLMError { .invalidCheckpoint(path: path, reason: reason) }
        guard file.metadata["format"] == format else {
            throw fail("not a TinyLLM checkpoint: metadata \"format\" is \(file.metadata["format"].map { "\"\($0)\"" } ?? "missing"), expected \"\(format)\"")
        }
        guard let configurationJSON = file.metadata["configuration"] else { throw fail("metadata has no \"configuration\"") }
        let configuration: TinyLLMConfiguration
        do { configuration = try JSONDecoder().decode(TinyLLMConfiguration.self, from: Data(configurationJSON.utf8)) } catch {
            throw fail("metadata \"configuration\" is not a valid configuration JSON (\(describe(error)))")
        }
        do { try configuration.validate() } catch { throw fail("\(error)") }
        // Nothing is allocated that the file cannot justify: the embedding (in every
        // configuration) must have the configured shape, and a configuration claiming more
        // parameters than the file holds values fails here, before the model is built.
        guard let embedding = file.entry(named: "embedding.weight") else {
            throw fail("missing tensor embedding.weight (the configuration \(configuration.summary) needs it)")
        }
        guard embedding.shape == [configuration.vocabularySize, configuration.width] else {
            throw fail("tensor embedding.weight has shape \(embedding.shape) but the configuration \(configuration.summary) needs \([configuration.vocabularySize, configuration.width])")
        }
        let stored = file.entries.reduce(0) { total, entry in
            entry.name.hasPrefix("optimizer.") ? total : total + entry.byteRange.count / entry.dtype.byteSize
        }
        guard configuration.parameterCount <= stored else {
            throw fail("the configuration (\(configuration.summary)) needs \(configuration.parameterCount) parameters but the file holds only \(stored) weight values")
        }

        var model = TinyLLMModel(zeroedFor: configuration)
        var expected = Set<String>()
        try model.visitParameters(prefix: "") { name, parameter in
            expected.insert(name)
            guard let entry = file.entry(named: name) else {
                throw fail("missing tensor \(name) (the configuration \(configuration.summary) needs it)")
            }
            guard entry.dtype.isReadable else {
                throw fail("tensor \(name) has dtype \(entry.dtype.rawValue); TinyLLM weights are F32, F16 or BF16")
            }
            guard entry.shape == parameter.shape else {
                throw fail("tensor \(name) has shape \(entry.shape) but the configuration \(configuration.summary) needs \(parameter.shape)")
            }
            let loaded: Tensor
            do { loaded = try file.tensor(named: name) } catch { throw fail("\(error)") }
            if let bad = loaded.scalars.firstIndex(where: { !$0.isFinite }) {
                throw fail("tensor \(name) holds a non-finite value (\(loaded.scalars[bad])) at element \(bad)")
            }
            parameter = loaded
        }
        if let stray = file.tensorNames.sorted().first(where: { !expected.contains($0) && !$0.hasPrefix("optimizer.") }) {
            throw fail("unexpected tensor \(terminalSafe(stray)) (not a parameter of \(configuration.summary))")
        }
        return model
    }

    /// Restores a training run from `directory/checkpoint.safetensors` on `corpus`.
    /// - Throws: ``TinyLLMError`` when the file is missing or invalid, when its model differs
    ///   from `expectedConfiguration` (if given), or when it was trained on another corpus.
    public static func loadTrainer(
        from directory: URL, corpus: ByteCorpus, expectedConfiguration: TinyLLMConfiguration? = nil
    ) throws -> TinyLLMTrainer {
        let url = directory.appendingPathComponent(checkpointFileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TinyLLMError.unreadableFile(path: url.path, reason: "no checkpoint to resume from; start without --resume")
        }
        return try loadTrainer(file: try open(url), path: url.path, corpus: corpus, expectedConfiguration: expectedConfiguration)
    }

    /// Restores a training run from a parsed checkpoint file (`path` names it in errors).
    /// Every value of the training state is checked against sane bounds and the file's own
    /// contents before it is used, so no counter can overflow and no loop can run away.
    public static func loadTrainer(
        file: SafeTensorsFile, path: String, corpus: ByteCorpus, expectedConfiguration: TinyLLMConfiguration? = nil
    ) throws -> TinyLLMTrainer {
        func fail(_ reason: String) -> TinyLLMError { .invalidCheckpoint(path: path, reason: reason) }
        let model = try loadModel(file: file, path: path)
        if let expectedConfiguration, expectedConfiguration != model.configuration {
            throw fail("configuration mismatch: the checkpoint holds \(model.configuration.summary), the command asks for \(expectedConfiguration.summary)")
        }
        guard let recordJSON = file.metadata["training"] else {
            throw fail("metadata has no \"training\" state (a weights-only model file cannot be resumed)")
        }
        let record: TrainingRecord
        do { record = try JSONDecoder().decode(TrainingRecord.self, from: Data(recordJSON.utf8)) } catch {
            throw fail("metadata \"training\" is not valid training-state JSON (\(describe(error)))")
        }
        do { try record.options.validate() } catch { throw fail("\(error)") }
        let words = record.dataGenerator.compactMap { UInt64($0, radix: 16) }
        guard words.count == 4, words.contains(where: { $0 != 0 }) else {
            throw fail("training state has an invalid data-generator state \(record.dataGenerator)")
        }
        guard record.step >= 0, record.step <= record.options.steps else {
            throw fail("training state step \(record.step) is outside 0...\(record.options.steps)")
        }
        guard record.optimizerStep >= 0, record.optimizerStep <= record.options.steps else {
            throw fail("training state optimizer step \(record.optimizerStep) is outside 0...\(record.options.steps)")
        }
        guard record.corpusBytes >= 0 else { throw fail("training state corpus size \(record.corpusBytes) is negative") }
        guard record.corpusFingerprint == corpus.fingerprint, record.corpusBytes == corpus.count else {
            throw fail("it was trained on a different corpus (\(record.corpusBytes) bytes, fingerprint \(record.corpusFingerprint)); \(corpus.name) has \(corpus.count) bytes, fingerprint \(corpus.fingerprint)")
        }
        var optimizerState: [(name: String, tensor: Tensor)] = []
        for name in file.tensorNames.sorted() where name.hasPrefix("optimizer.") {
            let rest = name.dropFirst("optimizer.".count)
            guard rest.hasPrefix("m.") || rest.hasPrefix("v.") else { throw fail("unexpected optimizer tensor \(terminalSafe(name))") }
            let tensor: Tensor
            do { tensor = try file.tensor(named: name) } catch { throw fail("\(error)") }
            // AdamW's moments: m finite, v finite and ≥ 0 (it is a running mean of squares).
            if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite || (rest.hasPrefix("v.") && $0 < 0) }) {
                throw fail("optimizer tensor \(name) holds an impossible value (\(tensor.scalars[bad])) at element \(bad)")
            }
            optimizerState.append((name: "adam." + rest, tensor: tensor))
        }
        var generator = SeededGenerator(seed: 0)
        generator.state = (words[0], words[1], words[2], words[3])
        return try TinyLLMTrainer(
            model: model, options: record.options, step: record.step, dataGenerator: generator,
            optimizerState: optimizerState, optimizerStep: record.optimizerStep, source: path)
    }

    static func open(_ url: URL) throws -> SafeTensorsFile {
        do { return try SafeTensorsFile(contentsOf: url) } catch {
            throw TinyLLMError.invalidCheckpoint(path: url.path, reason: "\(error)")
        }
    }

    static func describe(_ error: Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context): return context.debugDescription
            case .keyNotFound(let key, _): return "missing key \"\(key.stringValue)\""
            case .typeMismatch(_, let context), .valueNotFound(_, let context):
                return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

extension TinyLLMConfiguration {
    /// `"4 layers, 4 heads (4 kv), width 128, context 64, learned positions"`.
    public var summary: String {
        "\(layers) layers, \(heads) heads (\(keyValueHeads) kv), width \(width), MLP \(hiddenSize), context \(contextLength), \(positions.rawValue) positions"
    }
}
