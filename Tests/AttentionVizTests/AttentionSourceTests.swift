import Attention
import AttentionViz
import Foundation
import Testing

/// The seam for other models: a source that gives only weights (no Q, K, V), byte tokens and
/// a word grouping still gets the heatmap, the focus row, the word view, JSON and HTML.
@Suite struct AttentionSourceTests {
    /// Byte-level, weights only: token i attends to itself and the previous byte equally.
    struct PreviousByteSource: AttentionSource {
        let bytes: [UInt8]
        var modelDescription: String { "previous-byte test source" }
        var tokens: [String] { bytes.map(TextSegmentation.byteLabel) }
        var layerCount: Int { 1 }
        var headCount: Int { 1 }
        var contextLength: Int { 32 }
        var wordGrouping: WordGrouping? { WordGrouping(bytes: bytes) }
        func weights(layer: Int, head: Int) -> Tensor {
            let t = bytes.count
            var w = [Float](repeating: 0, count: t * t)
            for i in 0..<t {
                if i == 0 { w[0] = 1 } else { w[i * t + i] = 0.5; w[i * t + i - 1] = 0.5 }
            }
            return Tensor(shape: [t, t], scalars: w)
        }
    }

    @Test func weightsOnlySourceGetsHeatmapFocusAndWordView() throws {
        let source = PreviousByteSource(bytes: Array("ab cd".utf8))
        var options = ExplainOptions()
        options.focus = try FocusToken.resolve("cd", tokens: source.tokens, words: source.wordGrouping?.words)
        let text = ExplainReport.render(source, options: options)
        #expect(text.contains("exposes its attention weights but not its Q, K, V"), "says what it cannot show")
        #expect(!text.contains("Step 3"), "no Q/K/V steps without intermediates")
        #expect(text.contains("Focus: \"cd\" (word 2)"), "focus on a word")
        #expect(text.contains("Word level: layer 1 of 1, head 1"), "word view")
        // Word "cd" = bytes 2 (the space before it), 3, 4: the space gives 0.5 to "b" and 0.5 to
        // itself; bytes 3 and 4 give all their weight inside the word.
        // W[cd, cd] = (0.5 + 1 + 1) / 3, W[cd, ab] = 0.5 / 3; rows sum to 1.
        let json = ExplainJSON.make(source, options: options).serialized()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let words = try #require(root["words"] as? [String: Any])
        let data = try #require((words["weights"] as? [String: Any])?["data"] as? [[Double]])
        #expect(abs(data[1][1] - 2.5 / 3) < 1e-6 && abs(data[1][0] - 0.5 / 3) < 1e-6, "aggregated word weights \(data)")
        #expect(data.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-6 }, "word rows sum to 1")
        #expect(root["steps"] == nil, "no steps in the JSON of a weights-only source")
        let html = HTMLView.render(source, title: "ab cd")
        #expect(html.contains("\"words\":{\"labels\":[\"ab\",\"cd\"]"), "the page carries the words")
    }
}
