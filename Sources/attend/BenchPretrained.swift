import ArgumentParser
import Attention
import Foundation
import Pretrained

/// `attend bench pretrained`: sentence-embedding throughput of a pretrained encoder.
///
/// Hook-up: add `BenchPretrained.self` to `benchSubcommands` in Bench.swift.
struct BenchPretrained: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrained",
        abstract: "Time a pretrained sentence encoder: model load, a batch of 32 sentences, one 256-piece text.",
        discussion: """
            Lines: loading the model folder; embedding a batch of 32 typical sentences (10–20 word \
            pieces each, tokenization included) in one call, reported as sentences per second; \
            embedding one text truncated to 256 word pieces. Each is the median of --repeats runs \
            after a warm-up. scripts/bench_pretrained.py runs this command and sentence-transformers \
            (PyTorch, CPU, same thread count) on the same texts and prints both. \
            Build with -c release.

            \(ModelOptions.whereToGetAModel)
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Timed runs per line after one warm-up; the median is reported.")
    var repeats = 5

    @Option(help: "Worker threads (default: ATTEND_THREADS, else every core).")
    var threads: Int?

    @Flag(help: "Print the benchmark's texts as JSON {\"batch\": [String], \"long\": String} and exit.")
    var showTexts = false

    func validate() throws {
        try validateBenchTiming(repeats: repeats, threads: threads)
    }

    struct Texts: Codable {
        var batch: [String]
        var long: String
    }

    struct Line: Codable {
        var texts: Int
        var tokens: Int
        var milliseconds: Double
        var textsPerSecond: Double
    }

    struct Report: Codable {
        var model: String
        var threads: Int
        var configuration: String
        var repeats: Int
        var loadMilliseconds: Double
        var batch: Line
        var long: Line
    }

    func run() throws {
        if showTexts {
            print(try jsonLine(Texts(batch: Self.batchTexts, long: Self.longText)))
            return
        }
        let build = benchSetUp(threads: threads)
        var encoder: SentenceEncoder? = nil
        let loadSeconds = Stopwatch.time { encoder = try? modelOptions.loadEncoder() }
        // Load again outside the stopwatch so a bad folder reports its real error.
        let model = try encoder ?? modelOptions.loadEncoder()

        func line(_ texts: [String]) -> Line {
            let tokens = model.tokenIDs(texts).reduce(0) { $0 + $1.count }
            let measured = Stopwatch.measure(repeats: repeats, peakMemory: false) { model.embed(texts)[0][0] }
            return Line(texts: texts.count, tokens: tokens, milliseconds: measured.milliseconds,
                        textsPerSecond: Double(texts.count) / (measured.milliseconds / 1000))
        }
        let report = Report(
            model: modelOptions.model, threads: Threading.threadCount, configuration: build, repeats: repeats,
            loadMilliseconds: loadSeconds * 1000, batch: line(Self.batchTexts), long: line([Self.longText]))
        if json {
            print(try jsonLine(report))
            return
        }
        print("attend bench pretrained: \(report.threads) thread\(report.threads == 1 ? "" : "s"), \(build) build, median of \(repeats) after a warm-up")
        print("load model folder          \(String(format: "%8.1f", report.loadMilliseconds)) ms")
        for (name, l) in [("batch of 32 sentences", report.batch), ("one 256-piece text", report.long)] {
            print(name.padding(toLength: 26, withPad: " ", startingAt: 0)
                + " \(String(format: "%8.1f", l.milliseconds)) ms  \(String(format: "%8.1f", l.textsPerSecond)) texts/s  (\(l.tokens) tokens)")
        }
    }

    /// 32 everyday sentences of 10–20 word pieces each (with [CLS] and [SEP]).
    static let batchTexts = [
        "A man is playing a guitar on the street corner.",
        "The weather forecast says it will rain tomorrow afternoon.",
        "She bought fresh vegetables at the farmers market.",
        "Our team finished the quarterly report ahead of schedule.",
        "The cat is sleeping on the warm windowsill.",
        "Please remember to lock the door when you leave.",
        "He has been learning to play the piano for three years.",
        "The museum opens at nine in the morning on weekdays.",
        "Scientists discovered a new species of frog in the rainforest.",
        "The train to Berlin was delayed by forty minutes.",
        "Children were building sandcastles on the beach all day.",
        "This recipe needs two cups of flour and one egg.",
        "The stock market fell sharply after the announcement.",
        "My phone battery dies quickly when I use the camera.",
        "The conference will be held online this year.",
        "A young woman is reading a book in the park.",
        "They painted the living room a soft shade of blue.",
        "The new library has a large collection of rare maps.",
        "Traffic on the highway was heavy during the holiday weekend.",
        "The chef prepared a delicious meal with local ingredients.",
        "Our flight landed safely despite the strong winds.",
        "The students asked many questions after the lecture.",
        "He forgot his umbrella and got soaked in the rain.",
        "The company plans to hire fifty new engineers next year.",
        "A dog is chasing a ball across the green field.",
        "The doctor recommended more sleep and less coffee.",
        "The old bridge was closed for repairs last month.",
        "She won the chess tournament for the second time.",
        "Volunteers cleaned up the river bank on Saturday morning.",
        "The software update fixed several security problems.",
        "We watched the sunset from the top of the hill.",
        "The orchestra played a beautiful symphony last night.",
    ]

    /// A paragraph long enough to be truncated to 256 word pieces.
    static let longText = String(repeating:
        "Attention lets every token in a sentence look at every other token and decide how much each one matters, "
        + "which is why transformer encoders can resolve references such as pronouns across long distances. ", count: 8)
}
