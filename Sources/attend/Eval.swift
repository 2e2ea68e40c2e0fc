import ArgumentParser
import Foundation
import TinyLLM

/// `attend eval`: a model's loss on a file, in nats/byte and bits/byte.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a byte-level GPT's loss on a file (nats/byte and bits/byte).",
        discussion: """
            The file is cut into consecutive windows of the model's context length; every byte
            after the first is predicted once from the bytes before it in its window. The loss
            is the mean negative log-likelihood in nats per byte; bits/byte = nats / ln 2
            (what a compressor driven by the model would spend per byte).
            --split validation evaluates only the last 10% (the split `attend train` holds out).
            Without --model the bundled model is used.
            """)

    enum Split: String, ExpressibleByArgument, CaseIterable { case all, training, validation }

    @Option(help: "A run directory from `attend train` or a .safetensors file (default: the bundled model).")
    var model: String?
    @OptionGroup var precisionOption: PrecisionOption
    @Option(help: "The file to evaluate (read as bytes).")
    var corpus: String
    @Option(help: "Which part: all, training (first 90%) or validation (last 10%).")
    var split: Split = .all
    @Option(help: "Evaluate at most this many bytes (from the start of the chosen part).")
    var maxBytes: Int?
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be ≥ 2, got \(maxBytes)") }
    }

    func run() throws {
        do {
            let model = try loadTinyLLM(modelPath: model, precision: precisionOption)
            let data = try ByteCorpus(contentsOf: corpus)
            var bytes: [UInt8]
            switch split {
            case .all: bytes = data.training + data.validation
            case .training: bytes = data.training
            case .validation: bytes = data.validation
            }
            if let maxBytes { bytes = Array(bytes.prefix(maxBytes)) }
            guard bytes.count >= 2 else {
                throw TinyLLMError.corpusTooShort(path: corpus, bytes: bytes.count, needed: 2)
            }
            let started = Date()
            let loss = model.averageLoss(on: bytes)
            let seconds = Date().timeIntervalSince(started)
            if json {
                printJSONLine(["corpus": corpus, "split": split.rawValue, "bytes": bytes.count, "loss": loss,
                               "bitsPerByte": bits(loss), "seconds": seconds,
                               "precision": precisionOption.precision.rawValue])
            } else {
                let precision = precisionOption.precision == .float32 ? "" : ", \(precisionOption.precision) weights"
                print(String(format: "%@ (%@, %d bytes%@): loss %.4f nats/byte, %.4f bits/byte",
                             corpus, split.rawValue, bytes.count, precision, loss, bits(loss)))
            }
        }
    }
}
