import ArgumentParser
import Attention
import Foundation
import Pretrained

/// `attend attention`: every layer's and head's attention weights of a pretrained encoder.
/// (Named `AttentionCommand` because `Attention` is the library module.)
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention maps of a pretrained encoder for one text, per layer and head.",
        discussion: """
            Prints the word-piece tokens and, for every layer and head, the softmax attention \
            weights: row i is how token i distributes its attention over all tokens (each row \
            sums to 1). With --json: {"tokens": [String], "attentions": [[[[Float]]]]} indexed \
            [layer][head][query][key]. Without --json: for each layer, each token's most-attended \
            token averaged over heads.

            \(ModelOptions.whereToGetAModel)
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print {\"tokens\": [String], \"attentions\": [[[[Float]]]]} ([layer][head][T][T]).")
    var json = false

    @Argument(help: "The text to analyse.")
    var text: String

    struct Output: Encodable {
        var tokens: [String]
        var attentions: [[[[Float]]]]
    }

    func run() throws {
        let encoder = try modelOptions.loadEncoder()
        announceTruncation(encoder, texts: [text])
        let (tokens, maps) = encoder.attentionMaps(text)
        let t = tokens.count
        if json {
            let nested = maps.map { map in
                (0..<map.shape[0]).map { head in
                    (0..<t).map { i in Array(map.scalars[((head * t + i) * t)..<((head * t + i + 1) * t)]) }
                }
            }
            print(try jsonLine(Output(tokens: tokens, attentions: nested)))
            return
        }
        print("tokens: \(tokens.joined(separator: " "))")
        for (layer, map) in maps.enumerated() {
            let heads = map.shape[0]
            let targets = (0..<t).map { i -> String in
                let mean = (0..<t).map { j in (0..<heads).reduce(Float(0)) { $0 + map[$1, i, j] } / Float(heads) }
                let j = mean.indices.max { mean[$0] < mean[$1] }!
                return "\(tokens[i])→\(tokens[j]) \(String(format: "%.2f", mean[j]))"
            }
            print("layer \(layer): " + targets.joined(separator: ", "))
        }
    }
}
