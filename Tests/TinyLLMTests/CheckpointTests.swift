import Attention
import Foundation
import Testing
import Training
import TinyLLM

@Suite struct CheckpointTests {
    /// A trained tiny run saved to a fresh directory.
    static func savedRun(_ name: String, steps: Int = 6) throws -> (TinyLLMTrainer, ByteCorpus, URL) {
        let corpus = makeTestCorpus()
        var trainer = TinyLLMTrainer(configuration: .tiny, options: testOptions(steps: 12))
        for _ in 0..<steps { try trainer.trainStep(corpus: corpus) }
        let directory = temporaryDirectory(name)
        try TinyLLMCheckpoint.save(trainer, corpus: corpus, to: directory)
        return (trainer, corpus, directory)
    }

    @Test func trainingCheckpointRoundTripIsExact() throws {
        let (trainer, corpus, directory) = try Self.savedRun("roundtrip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let restored = try TinyLLMCheckpoint.loadTrainer(from: directory, corpus: corpus)
        #expect(restored.step == trainer.step && restored.optimizer.step == trainer.optimizer.step)
        #expect(restored.options == trainer.options && restored.configuration == trainer.configuration)
        #expect(restored.dataGenerator == trainer.dataGenerator)
        #expect(firstBitDifference(stateTensors(trainer), stateTensors(restored)) == nil)
        // The checkpoint file alone also loads as a model, exactly.
        let model = try TinyLLMCheckpoint.loadModel(from: directory.appendingPathComponent(TinyLLMCheckpoint.checkpointFileName).path)
        for ((name, a), (_, b)) in zip(trainer.model.namedParameters, model.namedParameters) {
            #expect(a.scalars == b.scalars, "\(name) changed in the Float32 checkpoint")
        }
    }

    @Test func halfPrecisionModelFileRoundsEachWeightOnce() throws {
        let (trainer, _, directory) = try Self.savedRun("half")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try TinyLLMCheckpoint.loadModel(from: directory.path)      // prefers model.safetensors
        for ((name, a), (_, b)) in zip(trainer.model.namedParameters, model.namedParameters) {
            let rounded = a.scalars.map { floatFromHalfBits(halfBitsFromFloat($0)) }
            #expect(rounded == b.scalars, "\(name) is not the Float16 rounding of the trained weights")
        }
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent(TinyLLMCheckpoint.modelFileName))
        #expect(file.entries.allSatisfy { $0.dtype == .float16 })
        #expect(file.metadata["format"] == TinyLLMCheckpoint.format && file.metadata["training"] == nil)
    }

    // MARK: Corrupt files

    /// Writes `bytes` to a temporary file and returns the load error's message.
    static func loadError(_ bytes: Data, _ name: String) -> String? {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tinyllm-corrupt-\(name)-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            try bytes.write(to: url)
            _ = try TinyLLMCheckpoint.loadModel(from: url.path)
            return nil
        } catch let error as TinyLLMError {
            return error.description
        } catch {
            return "unexpected error type: \(error)"
        }
    }

    /// A safetensors file from a header JSON string and a data section.
    static func file(header: String, data: [UInt8]) -> Data {
        var bytes = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    static func validModelData() throws -> Data {
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)
        // Without a digest, as a file written elsewhere: the corruptions below must reach the
        // loader's own checks (with a digest every one is caught as "damaged" first; see
        // CheckpointFuzzTests).
        return SafeTensorsWriter.encode(model.namedParameters, metadata: try TinyLLMCheckpoint.modelMetadata(.tiny), digest: false)
    }

    static let tinyJSON = (try? TinyLLMCheckpoint.json(TinyLLMConfiguration.tiny)) ?? ""

    /// Each case: a corruption of a valid file, and words the error must contain.
    static let corruptions: [(name: String, expected: String, corrupt: @Sendable (Data) -> Data)] = [
        ("empty", "", { _ in Data() }),
        ("truncated in the header length", "", { $0.prefix(5) }),
        ("truncated in the data", "", { $0.prefix($0.count - 100) }),
        ("header length beyond the file", "header", { data in
            var d = data; d[0] = 0xFF; d[1] = 0xFF; d[2] = 0xFF; d[3] = 0x7F; return d }),
        ("header length zero", "", { data in var d = data; for i in 0..<8 { d[i] = 0 }; return d }),
        ("bad JSON", "JSON", { _ in file(header: "{\"a\": [1, 2", data: []) }),
        ("offsets out of range", "", { _ in
            file(header: #"{"embedding.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#, data: Array(repeating: 0, count: 8)) }),
        ("overlapping tensors", "", { _ in
            file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                 data: Array(repeating: 0, count: 12)) }),
        ("integer dtype for a weight", "dtype I32", { data in
            // Same byte size, so every offset stays valid: only the declared type is wrong.
            let headerEnd = 8 + Int(data[0]) + Int(data[1]) << 8 + Int(data[2]) << 16
            let header = String(decoding: data[8..<headerEnd], as: UTF8.self)
                .replacingOccurrences(of: #""dtype":"F32""#, with: #""dtype":"I32""#)
            return data[..<8] + Data(header.utf8) + data[headerEnd...] }),
        ("not a TinyLLM file", "format", { _ in
            file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Array(repeating: 0, count: 4)) }),
        ("configuration JSON broken", "configuration", { _ in
            file(header: #"{"__metadata__":{"format":"swift-attention.tinyllm.v1","configuration":"{\"layers\": 2"}}"#, data: []) }),
        ("configuration invalid", "multiple of heads", { _ in
            let json = tinyJSON.replacingOccurrences(of: "\"width\":32", with: "\"width\":33")
            let escaped = json.replacingOccurrences(of: "\"", with: "\\\"")
            return file(header: "{\"__metadata__\":{\"format\":\"swift-attention.tinyllm.v1\",\"configuration\":\"\(escaped)\"}}", data: []) }),
        ("missing tensor", "missing tensor embedding.weight", { _ in
            let escaped = tinyJSON.replacingOccurrences(of: "\"", with: "\\\"")
            return file(header: "{\"__metadata__\":{\"format\":\"swift-attention.tinyllm.v1\",\"configuration\":\"\(escaped)\"}}", data: []) }),
    ]

    @Test(arguments: 0..<corruptions.count)
    func corruptFilesAreRejectedWithClearErrors(index: Int) throws {
        let (name, expected, corrupt) = Self.corruptions[index]
        let message = Self.loadError(corrupt(try Self.validModelData()), "case\(index)")
        let text = try #require(message, "\(name): a corrupt file loaded without error")
        #expect(text.hasPrefix("invalid checkpoint"), "\(name): \(text)")
        #expect(expected.isEmpty || text.contains(expected), "\(name): message \"\(text)\" should mention \(expected)")
    }

    @Test func wrongShapeAndConfigurationMismatchAreNamed() throws {
        // Tensors of the tiny model, but metadata claiming a wider one.
        var generator = SeededGenerator(seed: 1)
        let model = TinyLLMModel(configuration: .tiny, generator: &generator)
        var wider = TinyLLMConfiguration.tiny
        wider.width = 64
        let mismatched = SafeTensorsWriter.encode(model.namedParameters, metadata: try TinyLLMCheckpoint.modelMetadata(wider))
        let message = try #require(Self.loadError(mismatched, "mismatch"))
        #expect(message.contains("embedding.weight") && message.contains("[256, 32]") && message.contains("[256, 64]"), "\(message)")

        // An extra tensor that is no parameter.
        let extra = SafeTensorsWriter.encode(model.namedParameters + [("blocks.9.stray", Tensor(shape: [1], scalars: [0]))],
                                             metadata: try TinyLLMCheckpoint.modelMetadata(.tiny))
        #expect(Self.loadError(extra, "extra")?.contains("unexpected tensor blocks.9.stray") == true)

        // A NaN weight.
        var poisoned = model.namedParameters
        poisoned[0].tensor.withUnsafeMutableBufferPointer { $0[3] = .nan }
        let nan = SafeTensorsWriter.encode(poisoned, metadata: try TinyLLMCheckpoint.modelMetadata(.tiny))
        #expect(Self.loadError(nan, "nan")?.contains("non-finite") == true)
    }

    @Test func resumeChecksPresetAndCorpus() throws {
        let (_, corpus, directory) = try Self.savedRun("resume-checks")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect { try TinyLLMCheckpoint.loadTrainer(from: directory, corpus: corpus, expectedConfiguration: .baby) } throws: { error in
            "\(error)".contains("configuration mismatch")
        }
        let other = ByteCorpus(bytes: Array(String(repeating: "different text ", count: 100).utf8), name: "other")
        #expect { try TinyLLMCheckpoint.loadTrainer(from: directory, corpus: other) } throws: { error in
            "\(error)".contains("different corpus")
        }
        let empty = temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect { try TinyLLMCheckpoint.loadTrainer(from: empty, corpus: corpus) } throws: { error in
            "\(error)".contains("no checkpoint to resume from")
        }
        // A weights-only file cannot be resumed.
        let modelOnly = temporaryDirectory("model-only")
        defer { try? FileManager.default.removeItem(at: modelOnly) }
        try FileManager.default.copyItem(at: directory.appendingPathComponent(TinyLLMCheckpoint.modelFileName),
                                         to: modelOnly.appendingPathComponent(TinyLLMCheckpoint.checkpointFileName))
        #expect { try TinyLLMCheckpoint.loadTrainer(from: modelOnly, corpus: corpus) } throws: { error in
            "\(error)".contains("no \"training\" state")
        }
    }

    @Test func missingModelPathsExplainThemselves() {
        #expect { try TinyLLMCheckpoint.loadModel(from: "/nonexistent/run") } throws: { error in
            "\(error)".contains("no such file or directory")
        }
        let empty = temporaryDirectory("no-model")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect { try TinyLLMCheckpoint.loadModel(from: empty.path) } throws: { error in
            "\(error)".contains("attend train")
        }
        #expect(TinyLLMError.noBundledModel.description.contains("attend train --corpus"))
    }
}

@Suite struct ByteCorpusTests {
    @Test(arguments: [2, 10, 11, 100, 1001])
    func splitIsNinetyTen(count: Int) {
        let corpus = ByteCorpus(bytes: (0..<count).map { UInt8($0 % 256) })
        #expect(corpus.training.count == count * 9 / 10 && corpus.training.count + corpus.validation.count == count)
    }

    @Test func batchTargetsAreInputsShiftedByOne() {
        let corpus = ByteCorpus(bytes: (0..<1000).map { UInt8($0 % 251) })
        var generator = SeededGenerator(seed: 5)
        let (inputs, targets) = corpus.batch(.validation, batchSize: 8, length: 9, generator: &generator)
        #expect(inputs.count == 8 && inputs.allSatisfy { $0.count == 9 })
        for (x, y) in zip(inputs, targets) {
            #expect(Array(x.dropFirst()) == Array(y.dropLast()))
            #expect((x.last! + 1) % 251 == y.last!, "a window of the validation split (bytes 900..<1000)")
        }
    }

    @Test(arguments: [1, 5, 16])
    func windowsPredictEveryByteOnce(length: Int) {
        let bytes = (0..<37).map { UInt8($0) }
        let windows = ByteCorpus.windows(covering: bytes, length: length)
        #expect(windows.flatMap(\.targets) == Array(1..<37), "length \(length)")
        #expect(windows.allSatisfy { $0.inputs.count <= length && $0.inputs.count == $0.targets.count })
    }

    @Test func tooShortCorpusThrows() {
        let corpus = ByteCorpus(bytes: Array(repeating: 65, count: 50), name: "short.txt")
        #expect(throws: TinyLLMError.self) { try corpus.checkFits(length: 16) }
        #expect { try corpus.checkFits(length: 16) } throws: { error in
            guard case .corpusTooShort(_, let bytes, let needed) = error as? TinyLLMError else { return false }
            let fits = ByteCorpus(bytes: Array(repeating: 65, count: needed))
            let shorter = ByteCorpus(bytes: Array(repeating: 65, count: needed - 1))
            return bytes == 50 && (try? fits.checkFits(length: 16)) != nil && (try? shorter.checkFits(length: 16)) == nil
        }
    }
}
