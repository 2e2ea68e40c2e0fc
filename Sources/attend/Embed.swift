import ArgumentParser
import Foundation
import Pretrained

/// `attend embed`: sentence embeddings from a pretrained encoder.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sentence embeddings from a pretrained BERT-family encoder (e.g. all-MiniLM-L6-v2).",
        discussion: """
            Tokenizes each text with the model's WordPiece vocabulary, runs the encoder, and pools \
            the token states as the model folder says (all-MiniLM-L6-v2: mean over tokens, then L2 \
            normalisation), matching sentence-transformers' encode().

            With --json it prints one object {"embeddings": [[Float]], "tokenIDs": [[Int]]}, one row \
            per input in order (FILE texts first, then TEXT arguments).

            \(ModelOptions.whereToGetAModel)
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("A JSON file holding an array of strings to embed ('-': standard input).", valueName: "FILE"))
    var input: String?

    @Flag(help: "Print one JSON object {\"embeddings\": [[Float]], \"tokenIDs\": [[Int]]}.")
    var json = false

    @Option(help: "Sentences per forward pass.")
    var batchSize = 32

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    struct Output: Encodable {
        var embeddings: [[Float]]
        var tokenIDs: [[Int]]
    }

    func run() throws {
        let all = try readTexts(input: input, arguments: texts)
        let encoder = try modelOptions.loadEncoder()
        announceTruncation(encoder, texts: all)
        let ids = encoder.tokenIDs(all)
        let vectors = encoder.embed(tokenIDs: ids, batchSize: batchSize)
        if json {
            print(try jsonLine(Output(embeddings: vectors, tokenIDs: ids)))
            return
        }
        for (index, text) in all.enumerated() {
            let shown = vectors[index].prefix(6).map { String(format: "%+.4f", $0) }.joined(separator: " ")
            print("\(index)  \"\(abbreviated(text, 48))\"  \(ids[index].count) tokens  \(vectors[index].count)-d  [\(shown) …]")
        }
    }
}
