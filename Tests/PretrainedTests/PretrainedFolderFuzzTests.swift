import Attention
import Foundation
import Pretrained
import Testing

/// Damaged and hostile model folders: every mutation of a real (tiny) folder's files loads
/// cleanly or throws; impossible values are errors naming the file; paths in the folder's
/// files never lead outside it.
@Suite struct PretrainedFolderFuzzTests {
    static func load(_ folder: URL) -> Bool {
        do {
            _ = try SentenceEncoder(modelDirectory: folder)
            return true
        } catch is PretrainedError {
            return false
        } catch is SafeTensorsError {
            return false
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
            return false
        }
    }

    /// Seeded mutations of config.json, vocab.txt, modules.json, the pooling config and the
    /// weights: truncations, flipped bytes, digits replaced by other digits (huge sizes).
    @Test func mutationsOfEveryFileLoadOrThrow() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let files = ["config.json", "vocab.txt", "modules.json", "1_Pooling/config.json", "model.safetensors"]
        let originals = try files.map { try Data(contentsOf: tiny.folder.appendingPathComponent($0)) }
        #expect(Self.load(tiny.folder))
        var generator = SeededGenerator(seed: 99)
        var loaded = 0
        for trial in 0..<600 {
            let which = trial % files.count
            let url = tiny.folder.appendingPathComponent(files[which])
            var data = originals[which]
            switch (trial / files.count) % 3 {
            case 0:
                data = data.prefix(Int(generator.next() % UInt64(data.count)))
            case 1:
                for _ in 0..<(1 + trial % 3) {
                    data[Int(generator.next() % UInt64(data.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                }
            default:
                let digits = data.indices.filter { (48...57).contains(data[$0]) }
                if let first = digits.first {
                    let at = digits.isEmpty ? first : digits[Int(generator.next() % UInt64(digits.count))]
                    data[at] = UInt8(48 + generator.next() % 10)
                    // Some trials make a number enormous.
                    if trial % 2 == 0 { data.insert(contentsOf: Array("99999999999".utf8), at: at) }
                }
            }
            try data.write(to: url)
            if Self.load(tiny.folder) { loaded += 1 }
            try originals[which].write(to: url)
        }
        #expect(loaded < 600, "every mutation loaded: the mutations are not reaching the loader")
    }

    static func expectRefusal(_ folder: URL, mentioning words: [String]) {
        do {
            _ = try SentenceEncoder(modelDirectory: folder)
            Issue.record("the folder loaded; expected an error mentioning \(words)")
        } catch {
            for word in words { #expect("\(error)".contains(word), "\(error) should mention \(word)") }
        }
    }

    @Test func nonFiniteWeightIsNamed() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        var parameters = tiny.model.namedParameters
        var scalars = parameters[9].tensor.scalars
        scalars[3] = .nan
        parameters[9].tensor = Tensor(shape: parameters[9].tensor.shape, scalars: scalars)
        try SafeTensorsWriter.write(parameters, to: tiny.weightsURL)
        Self.expectRefusal(tiny.folder, mentioning: [parameters[9].name, "non-finite", "model.safetensors"])
    }

    @Test(arguments: [
        (#""layer_norm_eps": 1e-12"#, #""layer_norm_eps": -1"#, "layer_norm_eps"),
        (#""layer_norm_eps": 1e-12"#, #""layer_norm_eps": 0"#, "layer_norm_eps"),
        (#""num_hidden_layers": 2"#, #""num_hidden_layers": 2.5"#, "whole number"),
        (#""num_hidden_layers": 2"#, #""num_hidden_layers": 1e300"#, "num_hidden_layers"),
        (#""vocab_size": 40"#, #""vocab_size": 4000000000"#, "vocab_size"),
        (#""num_attention_heads": 4"#, #""num_attention_heads": -4"#, "num_attention_heads"),
    ])
    func impossibleConfigurationValuesAreErrors(original: String, replacement: String, word: String) throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        try TinyBert.configJSON.replacingOccurrences(of: original, with: replacement)
            .write(to: tiny.folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        Self.expectRefusal(tiny.folder, mentioning: [word, "config.json"])
    }

    @Test func vocabularyOfAnotherSizeIsAnError() throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let half = TinyBert.vocabulary.prefix(TinyBert.vocabulary.count / 2)
        try (half.joined(separator: "\n") + "\n").write(to: tiny.folder.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        Self.expectRefusal(tiny.folder, mentioning: ["vocab.txt", "\(half.count) tokens", "40"])
    }

    @Test(arguments: ["../../etc", "/etc", "1_Pooling/../../outside"])
    func modulePathsStayInsideTheFolder(path: String) throws {
        let tiny = try TinyBert()
        defer { tiny.remove() }
        let modules = #"[{"idx":1,"name":"1","path":"PATH","type":"sentence_transformers.models.Pooling"}]"#
            .replacingOccurrences(of: "PATH", with: path)
        try modules.write(to: tiny.folder.appendingPathComponent("modules.json"), atomically: true, encoding: .utf8)
        Self.expectRefusal(tiny.folder, mentioning: ["modules.json", "outside the model folder"])
    }
}
