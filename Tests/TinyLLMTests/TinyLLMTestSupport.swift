import Attention
import Foundation
import TinyLLM

/// A short, repetitive text (made here, so the tests need no data files): a small model
/// learns it quickly, so a few dozen steps show a clear loss drop.
func makeTestCorpus(repeats: Int = 60) -> ByteCorpus {
    let verse = """
        Shall I compare thee to a summer's day?
        Thou art more lovely and more temperate:
        Rough winds do shake the darling buds of May,
        And summer's lease hath all too short a date.

        """
    return ByteCorpus(bytes: Array(String(repeating: verse, count: repeats).utf8), name: "sonnet-18")
}

/// Options for fast tests: small batches, frequent checkpoints.
func testOptions(steps: Int = 30, seed: UInt64 = 7) -> TrainingOptions {
    var options = TrainingOptions()
    options.steps = steps
    options.batchSize = 4
    options.learningRate = 3e-3
    options.minimumLearningRate = 3e-4
    options.warmupSteps = 5
    options.evaluationInterval = 0
    options.evaluationBatches = 2
    options.checkpointInterval = 0
    options.seed = seed
    return options
}

/// A fresh temporary directory, removed by the caller with `removeItem`.
func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tinyllm-tests-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Every parameter and optimizer tensor of a run, by name (for bit-exact comparisons).
func stateTensors(_ trainer: TinyLLMTrainer) -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for (name, tensor) in trainer.model.namedParameters { out[name] = tensor.scalars }
    for (name, tensor) in trainer.optimizer.state { out[name] = tensor.scalars }
    return out
}

/// The first name whose values differ bit for bit, or nil when the states are identical.
func firstBitDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> String? {
    guard Set(a.keys) == Set(b.keys) else { return "names differ: \(Set(a.keys).symmetricDifference(b.keys).sorted().prefix(3))" }
    for name in a.keys.sorted() {
        let x = a[name]!, y = b[name]!
        if x.count != y.count || zip(x, y).contains(where: { $0.bitPattern != $1.bitPattern }) { return name }
    }
    return nil
}
