import ArgumentParser
import Foundation
import Pretrained

/// `attend similarity`: cosine similarities between sentence embeddings.
struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cosine-similarity table of two or more texts under a pretrained encoder.",
        discussion: """
            Embeds every text as `attend embed` does and prints the table of cosine similarities \
            cos(a, b) = a·b / (‖a‖‖b‖), from −1 (opposite) through 0 (unrelated) to 1 (same direction). \
            With --json: {"texts": [String], "similarities": [[Float]]}.

            \(ModelOptions.whereToGetAModel)
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print {\"texts\": [String], \"similarities\": [[Float]]}.")
    var json = false

    @Argument(help: "Two or more texts to compare.")
    var texts: [String] = []

    func validate() throws {
        guard texts.count >= 2 else {
            throw ValidationError("give at least two texts to compare, e.g. attend similarity --model DIR \"a cat\" \"a dog\"")
        }
    }

    struct Output: Encodable {
        var texts: [String]
        var similarities: [[Float]]
    }

    func run() throws {
        let encoder = try modelOptions.loadEncoder()
        announceTruncation(encoder, texts: texts)
        let vectors = encoder.embed(texts)
        let table = vectors.map { a in vectors.map { b in cosineSimilarity(a, b) } }
        if json {
            print(try jsonLine(Output(texts: texts, similarities: table)))
            return
        }
        let labels = texts.enumerated().map { "[\($0.offset)] " + abbreviated($0.element, 40) }
        let width = labels.map(\.count).max() ?? 0
        print(String(repeating: " ", count: width) + " " + texts.indices.map { index -> String in
            let heading = "[\(index)]"
            return String(repeating: " ", count: max(0, 7 - heading.count)) + heading
        }.joined())
        for (index, row) in table.enumerated() {
            let label = labels[index].padding(toLength: width, withPad: " ", startingAt: 0)
            print(label + " " + row.map { String(format: "%7.3f", $0) }.joined())
        }
    }
}
