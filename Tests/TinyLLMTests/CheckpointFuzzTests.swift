import Attention
import Foundation
import Testing
import TinyLLM

/// Hostile and damaged checkpoints: every mutation of a real checkpoint loads cleanly or
/// throws a ``TinyLLMError``; none traps, hangs, or makes the loader allocate what the file
/// cannot justify. Seeded, in-process, a few seconds.
@Suite struct CheckpointFuzzTests {
    /// A real checkpoint of the tiny preset after a few steps, as bytes.
    static func realCheckpoint() throws -> (data: Data, corpus: ByteCorpus) {
        let corpus = makeTestCorpus()
        var trainer = TinyLLMTrainer(configuration: .tiny, options: testOptions(steps: 4))
        for _ in 0..<2 { try trainer.trainStep(corpus: corpus) }
        let directory = temporaryDirectory("fuzz-source")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TinyLLMCheckpoint.save(trainer, corpus: corpus, to: directory)
        return (try Data(contentsOf: directory.appendingPathComponent(TinyLLMCheckpoint.checkpointFileName)), corpus)
    }

    /// Loads `data` as a model and as a training run; returns whether both loaded. Any error
    /// other than the library's typed ones is recorded as a failure.
    static func load(_ data: Data, corpus: ByteCorpus) -> Bool {
        do {
            let file = try SafeTensorsFile(data: data)
            _ = try TinyLLMCheckpoint.loadModel(file: file, path: "fuzz")
            _ = try TinyLLMCheckpoint.loadTrainer(file: file, path: "fuzz", corpus: corpus)
            return true
        } catch is SafeTensorsError {
            return false
        } catch is TinyLLMError {
            return false
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
            return false
        }
    }

    static func headerEnd(_ data: Data) -> Int {
        8 + Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    }

    @Test func thousandsOfMutationsLoadOrThrow() throws {
        let (original, corpus) = try Self.realCheckpoint()
        #expect(Self.load(original, corpus: corpus), "the unmutated checkpoint must load")
        let headerEnd = Self.headerEnd(original)
        var generator = SeededGenerator(seed: 10)
        var loaded = 0, dataFlips = 0, dataFlipsLoaded = 0
        for trial in 0..<2000 {
            var data = original
            switch trial % 4 {
            case 0:  // flipped header bytes
                for _ in 0..<(1 + trial % 3) {
                    data[Int(generator.next() % UInt64(headerEnd))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                }
            case 1:  // truncated anywhere
                data = data.prefix(Int(generator.next() % UInt64(data.count)))
            case 2:  // header digits replaced (shapes, offsets, counters, configuration values)
                let header = Array(data[8..<headerEnd])
                let digits = header.indices.filter { (48...57).contains(header[$0]) }
                for _ in 0..<(1 + trial % 5) {
                    data[8 + digits[Int(generator.next() % UInt64(digits.count))]] = UInt8(48 + generator.next() % 10)
                }
            default:  // flipped data bytes: the digest must catch every one
                dataFlips += 1
                let at = headerEnd + Int(generator.next() % UInt64(data.count - headerEnd))
                data[at] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            }
            let ok = Self.load(data, corpus: corpus)
            if ok { loaded += 1 }
            if ok && trial % 4 == 3 { dataFlipsLoaded += 1 }
        }
        #expect(dataFlipsLoaded == 0, "\(dataFlipsLoaded) of \(dataFlips) checkpoints with flipped data bytes loaded")
        #expect(loaded < 100, "\(loaded) of 2000 mutations loaded")
    }

    /// Re-encodes the checkpoint with its metadata edited, without a digest (as a file from
    /// elsewhere would be), so the loader's own bounds are what stands in the way.
    static func patched(_ original: Data, _ edit: (inout [String: String]) -> Void) throws -> Data {
        let file = try SafeTensorsFile(data: original)
        var metadata = file.metadata
        edit(&metadata)
        let tensors = try file.tensorNames.map { (name: $0, tensor: try file.tensor(named: $0)) }
        return SafeTensorsWriter.encode(tensors, metadata: metadata, digest: false)
    }

    static func replacing(_ key: String, _ pattern: String, with replacement: String) -> (inout [String: String]) -> Void {
        { metadata in
            let text = metadata[key] ?? ""
            let range = text.range(of: pattern, options: .regularExpression)
            #expect(range != nil, "\(key) has no \(pattern): \(text)")
            if let range { metadata[key] = text.replacingCharacters(in: range, with: replacement) }
        }
    }

    @Test(arguments: [
        ("training", #""optimizerStep":[0-9]+"#, #""optimizerStep":9223372036854775807"#, "optimizer step"),
        ("training", #""evaluationBatches":[0-9]+"#, #""evaluationBatches":1000000000000000"#, "evaluation batches"),
        ("training", #""steps":[0-9]+"#, #""steps":9223372036854775807"#, "steps must be in"),
        ("training", #""step":[0-9]+"#, #""step":-5"#, "outside"),
        ("configuration", #""contextLength":[0-9]+"#, #""contextLength":1048576"#, "parameters but the file holds only"),
        ("configuration", #""width":[0-9]+"#, #""width":1024"#, "needs [256, 1024]"),
    ])
    func impossibleValuesWithoutADigestAreRefused(key: String, pattern: String, replacement: String, expected: String) throws {
        let (original, corpus) = try Self.realCheckpoint()
        let data = try Self.patched(original, Self.replacing(key, pattern, with: replacement))
        let file = try SafeTensorsFile(data: data)
        do {
            _ = try TinyLLMCheckpoint.loadTrainer(file: file, path: "patched", corpus: corpus)
            Issue.record("a checkpoint with \(replacement) loaded")
        } catch let error as TinyLLMError {
            #expect("\(error)".contains(expected), "\(replacement): \(error)")
        }
    }

    /// A file without a digest (written elsewhere) still loads; a digest that does not match
    /// its content is refused with a message that says the file was damaged.
    @Test func digestIsOptionalButVerified() throws {
        let (original, corpus) = try Self.realCheckpoint()
        let withoutDigest = try Self.patched(original) { $0[SafeTensorsDigest.metadataKey] = nil }
        #expect(Self.load(withoutDigest, corpus: corpus))
        var damaged = original
        damaged[damaged.count - 3] ^= 0x40
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: damaged) }
        do { _ = try SafeTensorsFile(data: damaged) } catch {
            #expect("\(error)".contains("damaged"), "\(error)")
        }
    }
}
