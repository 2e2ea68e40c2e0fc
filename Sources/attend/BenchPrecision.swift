import ArgumentParser
import Attention
import Foundation
import Pretrained
import TinyLLM

/// `attend bench precision`: BF16 against FP32, speed and error, in one run.
struct BenchPrecision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precision",
        abstract: "Time --precision bf16 against fp32: weight products, TinyLLM eval and decoding, a sentence encoder.",
        discussion: """
            Every line runs the same work in FP32 and in BF16 (weights rounded to bfloat16, FP32 \
            sums; see `Precision` in the library docs) in one run and reports both, the speed-up \
            (FP32 time / BF16 time) and the error BF16 adds:
              products  y = x·Wᵀ on model shapes, GFLOP/s = 2·m·n·k / time; error = ‖y₁₆ − y₃₂‖ / ‖y₃₂‖.
              eval      the bundled TinyLLM's loss on the first --eval-bytes of --corpus's validation split
                        (the last 10%); error = |loss₁₆ − loss₃₂| in nats/byte.
              decode    greedy decoding of --decode-bytes bytes after "ROMEO:"; bytes/s, and how many
                        leading bytes BF16 and FP32 produce alike.
              encoder   (with --model) 640 short sentences in batches of 32, and 24 texts of 256 pieces;
                        texts/s; error = the smallest cosine between a text's FP32 and BF16 embeddings.
            The BF16 kernel is printed above the table: avx512-bf16 uses the AVX512-BF16 instruction \
            vdpbf16ps, amx-bf16 AMX tiles, neon-bf16 Arm's BFDOT; elsewhere the same sums come from a \
            kernel without the speed-up. \
            Build with -c release.
            """)

    @Option(help: ArgumentHelp("A sentence-encoder folder (Hugging Face layout) or repository id; adds the encoder lines.", valueName: "DIR"))
    var model: String?

    @Option(help: ArgumentHelp("Text for the eval line (its last 10% is the validation split).", valueName: "FILE"))
    var corpus: String?

    @Option(help: "Bytes of the validation split the eval line reads.")
    var evalBytes = 32_768

    @Option(help: "Bytes the decode line generates.")
    var decodeBytes = 256

    @Option(help: "Timed runs per line after one warm-up; the median is reported.")
    var repeats = 3

    @Option(help: "Worker threads (default: ATTEND_THREADS, else every core).")
    var threads: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        try validateBenchTiming(repeats: repeats, threads: threads)
        guard evalBytes >= 2 else { throw ValidationError("--eval-bytes must be at least 2, got \(evalBytes)") }
        guard decodeBytes >= 1 else { throw ValidationError("--decode-bytes must be at least 1, got \(decodeBytes)") }
    }

    /// One line: the same work timed in both precisions.
    struct Line: Codable {
        var part: String
        var name: String
        /// Work per run: FLOPs for products, bytes for eval and decode, texts for the encoder.
        var work: Double
        var unit: String
        var float32Milliseconds: Double
        var bfloat16Milliseconds: Double
        /// Work per second in each precision (GFLOP/s for products).
        var float32Rate: Double
        var bfloat16Rate: Double
        /// FP32 time / BF16 time.
        var speedup: Double
        /// What the error column means on this line, and its value.
        var errorMeasure: String
        var error: Double
    }

    struct Report: Codable {
        var cpu: String
        var simd: String
        var bfloat16Kernel: String
        var threads: Int
        var configuration: String
        var repeats: Int
        var lines: [Line]
    }

    func run() throws {
        let build = benchSetUp(threads: threads)
        var report = Report(cpu: MachineInfo.cpuModel, simd: MachineInfo.simd, bfloat16Kernel: MachineInfo.bfloat16,
                            threads: Threading.threadCount, configuration: build, repeats: repeats, lines: [])
        let header = "attend bench precision: CPU \(report.cpu), SIMD \(report.simd), BF16 kernel \(report.bfloat16Kernel), "
            + "\(report.threads) thread\(report.threads == 1 ? "" : "s"), \(build) build, median of \(repeats) after a warm-up"
        if !json { print(header) }
        report.lines += Self.productShapes.map(productLine)
        let tinyLLM = try TinyLLMCheckpoint.loadBundledModel()
        if let corpus { report.lines.append(try evalLine(tinyLLM, corpus: corpus)) }
        report.lines.append(try decodeLine(tinyLLM))
        if let model {
            let encoder = try SentenceEncoder(modelDirectory: URL(fileURLWithPath: resolveModelArgument(model)))
            report.lines += encoderLines(encoder)
        }
        if json {
            print(try jsonLine(report))
        } else {
            print(Self.table(report.lines))
        }
    }

    /// Times `body` in each precision (one warm-up, median of `repeats`), interleaved so that
    /// background load hits both alike.
    private func pair(_ float32: () -> Float, _ bfloat16: () -> Float) -> (Double, Double) {
        var a: [Double] = [], b: [Double] = []
        _ = Stopwatch.measure(repeats: 1, peakMemory: false, float32)
        _ = Stopwatch.measure(repeats: 1, peakMemory: false, bfloat16)
        for _ in 0..<repeats {
            a.append(Stopwatch.measure(repeats: 1, warmUp: false, peakMemory: false, float32).milliseconds)
            b.append(Stopwatch.measure(repeats: 1, warmUp: false, peakMemory: false, bfloat16).milliseconds)
        }
        return (a.sorted()[a.count / 2], b.sorted()[b.count / 2])
    }

    private func line(part: String, name: String, work: Double, unit: String, times: (Double, Double),
                      errorMeasure: String, error: Double) -> Line {
        let scale = unit == "GFLOP" ? 1e9 : 1
        return Line(part: part, name: name, work: work, unit: unit, float32Milliseconds: times.0, bfloat16Milliseconds: times.1,
                    float32Rate: work / scale / (times.0 / 1000), bfloat16Rate: work / scale / (times.1 / 1000),
                    speedup: times.0 / times.1, errorMeasure: errorMeasure, error: error)
    }

    /// `x·Wᵀ` shapes (m rows, n outputs, depth k): MiniLM's Q/K/V, feed-forward up and down on
    /// 2048 tokens, two square products, and one decoding token through MiniLM's and TinyLLM's
    /// feed-forward layers.
    static let productShapes: [(m: Int, n: Int, k: Int, name: String)] = [
        (2048, 1152, 384, "MiniLM QKV"), (2048, 1536, 384, "MiniLM FFN up"), (2048, 384, 1536, "MiniLM FFN down"),
        (512, 512, 512, "512³"), (1024, 1024, 1024, "1024³"),
        (1, 1536, 384, "decode 384→1536"), (1, 768, 192, "decode TinyLLM FFN"),
    ]

    private func productLine(_ s: (m: Int, n: Int, k: Int, name: String)) -> Line {
        var g = SeededGenerator(seed: 5)
        let x = Tensor.randomNormal([s.m, s.k], standardDeviation: 1, generator: &g)
        let w = Tensor.randomNormal([s.n, s.k], standardDeviation: 0.05, generator: &g)
        let weights = BFloat16Weights(w)
        let times = pair({ x.matmul(w, transposingOther: true).scalars[0] }, { weights.product(x).scalars[0] })
        let exact = x.matmul(w, transposingOther: true), fast = weights.product(x)
        var difference = 0.0, norm = 0.0
        for (a, b) in zip(exact.scalars, fast.scalars) { difference += Double(a - b) * Double(a - b); norm += Double(a) * Double(a) }
        return line(part: "products", name: "\(s.name) \(s.m)×\(s.n)×\(s.k)", work: 2.0 * Double(s.m * s.n * s.k), unit: "GFLOP",
                    times: times, errorMeasure: "relative L2", error: (difference / max(norm, 1e-300)).squareRoot())
    }

    private func evalLine(_ model: TinyLLMModel, corpus path: String) throws -> Line {
        let bytes = Array(try ByteCorpus(contentsOf: path).validation.prefix(evalBytes))
        guard bytes.count >= 2 else { throw ValidationError("--corpus \(path): its validation split has \(bytes.count) bytes; need at least 2") }
        let fast = model.converted(to: .bfloat16)
        let (l32, l16) = (model.averageLoss(on: bytes), fast.averageLoss(on: bytes))
        let times = pair({ Float(model.averageLoss(on: bytes)) }, { Float(fast.averageLoss(on: bytes)) })
        return line(part: "eval", name: String(format: "TinyLLM loss %.4f → %.4f", l32, l16), work: Double(bytes.count), unit: "bytes",
                    times: times, errorMeasure: "|Δ loss| nats/byte", error: abs(l16 - l32))
    }

    private func decodeLine(_ model: TinyLLMModel) throws -> Line {
        let sampler = try TokenSampler(temperature: 0)
        let fast = model.converted(to: .bfloat16)
        let prompt = Array("ROMEO:".utf8)
        let a = model.generate(prompt: prompt, maxBytes: decodeBytes, sampler: sampler)
        let b = fast.generate(prompt: prompt, maxBytes: decodeBytes, sampler: sampler)
        let alike = zip(a, b).prefix { $0 == $1 }.count
        let times = pair({ Float(model.generate(prompt: prompt, maxBytes: decodeBytes, sampler: sampler).count) },
                         { Float(fast.generate(prompt: prompt, maxBytes: decodeBytes, sampler: sampler).count) })
        return line(part: "decode", name: "TinyLLM greedy, \(alike)/\(a.count) bytes alike", work: Double(decodeBytes), unit: "bytes",
                    times: times, errorMeasure: "bytes differing after", error: Double(a.count - alike))
    }

    private func encoderLines(_ encoder: SentenceEncoder) -> [Line] {
        let fast = encoder.converted(to: .bfloat16)
        let short = (0..<20).flatMap { _ in BenchPretrained.batchTexts }
        let long = (0..<24).map { i in "Text \(i). " + BenchPretrained.longText }
        return [("640 short sentences", short), ("24 texts of 256 pieces", long)].map { name, texts in
            let (a, b) = (encoder.embed(texts), fast.embed(texts))
            let worst = zip(a, b).map { Double(cosineSimilarity($0, $1)) }.min() ?? 1
            let times = pair({ encoder.embed(texts)[0][0] }, { fast.embed(texts)[0][0] })
            return line(part: "encoder", name: name, work: Double(texts.count), unit: "texts", times: times,
                        errorMeasure: "min cosine", error: worst)
        }
    }

    /// Cosines near 1 need six digits; small errors scientific notation; counts none.
    static func errorText(_ l: Line) -> String {
        if l.part == "encoder" { return fixed(l.error, 6) }
        if l.part == "decode" { return String(Int(l.error)) }
        return l.error < 0.01 && l.error > 0 ? String(format: "%.2e", l.error) : fixed(l.error, 4)
    }

    static func table(_ lines: [Line]) -> String {
        var out = ["", pad("line", 44) + "|  fp32 ms  rate     |  bf16 ms  rate     | bf16/fp32 | error"]
        for l in lines {
            let unit = l.unit == "GFLOP" ? "GF/s" : l.unit + "/s"
            func cell(_ ms: Double, _ rate: Double) -> String {
                leftPad(fixed(ms, 2), 9) + "  " + pad(leftPad(fixed(rate, rate < 100 ? 1 : 0), 7) + " " + unit, 10)
            }
            out.append(pad("\(l.part): \(l.name)", 44) + "|" + cell(l.float32Milliseconds, l.float32Rate) + "|"
                + cell(l.bfloat16Milliseconds, l.bfloat16Rate) + "| " + leftPad(fixed(l.speedup, 2) + "×", 8) + "  | "
                + "\(l.errorMeasure) " + Self.errorText(l))
        }
        return out.joined(separator: "\n")
    }
}
