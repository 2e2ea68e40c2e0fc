import Attention
import AttentionViz
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The HTML page in a real headless browser, and the SVG as XML.
@Suite struct ViewTests {
    static func model(_ text: String, bytes: Bool = false) throws -> ToyAttentionModel {
        var configuration = ToyAttentionModel.Configuration()
        if bytes { configuration.tokenization = .bytes; configuration.contextLength = 128 }
        return try ToyAttentionModel(bytes: Array(text.utf8), configuration: configuration)
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "no Chromium: set ATTEND_CHROMIUM (scripts/ci/browser.sh installs one)"),
          arguments: [("The cat sat on the mat", false), ("naïve café </script><b>&amp;", true), ("x", false)])
    func pagePassesItsSelfTestInChromium(text: String, bytes: Bool) throws {
        let html = HTMLView.render(try Self.model(text, bytes: bytes), title: text)
        let result = try HeadlessChromium.selfTest(html: html, name: "view")
        let checks = result["checks"] as? [String: Bool] ?? [:]
        let failed = checks.filter { !$0.value }.map(\.key).sorted()
        let errors = result["errors"] as? [String] ?? ["<no result>"]
        #expect(result["pass"] as? Bool == true, "\(text.debugDescription): failed checks \(failed), console errors \(errors)")
        #expect(errors.isEmpty, "\(text.debugDescription): console errors \(errors)")
        #expect(checks["hoverIsolates"] == true || (result["tokens"] as? Int) == 1,
                "\(text.debugDescription): hovering a token changes the lines shown (\(result["lines"] ?? "?") → \(result["linesWhileHovering"] ?? "?"))")
    }

    /// The self-test can fail: a page whose script throws is reported, not passed.
    @Test(.enabled(if: HeadlessChromium.shouldRun, "no Chromium: set ATTEND_CHROMIUM (scripts/ci/browser.sh installs one)"))
    func brokenPageFailsTheSelfTest() throws {
        let html = HTMLView.render(try Self.model("The cat sat"), title: "broken")
            .replacingOccurrences(of: "<script type=\"application/json\"", with: "<script>notAFunction();</script><script type=\"application/json\"")
        let result = try HeadlessChromium.selfTest(html: html, name: "broken")
        #expect(result["pass"] as? Bool == false, "an error on the page must fail the self-test: \(result)")
        #expect((result["errors"] as? [String] ?? []).contains { $0.contains("notAFunction") }, "the error is recorded: \(result)")
    }

    @Test func pageIsStandaloneAndEscapesItsText() throws {
        let text = "</script><b>bold</b> & more"
        let html = HTMLView.render(try Self.model(text), title: text)
        #expect(!html.contains("<b>"), "markup in the text is escaped")
        let opened = html.components(separatedBy: "<script").count - 1, closed = html.components(separatedBy: "</script>").count - 1
        #expect(opened == 3 && closed == 3, "three scripts, each closed once (the data cannot end its element early): \(opened) opened, \(closed) closed")
        for needle in ["https://", " src=", " href=", "@import", "url("] {
            #expect(!html.contains(needle), "standalone: no external reference \(needle)")
        }
        #expect(html.contains("aria-live") && html.contains("tabindex"), "screen-reader and keyboard hooks are present")
    }

    @Test func svgIsWellFormedWithOneCellPerPair() throws {
        let model = try Self.model("The cat & the <mat>")
        let weights = model.weights(layer: 0, head: 1)
        let svg = SVGHeatmap.render(weights, rowLabels: model.tokens, columnLabels: model.tokens, title: "layer 1, head 2")
        let counter = ElementCounter()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = counter
        #expect(parser.parse(), "SVG parses as XML: \(parser.parserError.map { "\($0)" } ?? "")")
        let t = model.tokens.count
        #expect(counter.counts["rect"] == t * t + 1, "one rect per cell plus the background: \(counter.counts["rect"] ?? 0) for \(t) tokens")
        #expect(counter.texts.contains("<") && counter.texts.contains("&"), "labels with < and & survive escaping")
        #expect(svg.contains("role=\"img\"") && svg.contains("<desc"), "accessible name and description")
    }

    final class ElementCounter: NSObject, XMLParserDelegate {
        var counts: [String: Int] = [:]
        var texts = Set<String>()
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            counts[name, default: 0] += 1
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { texts.insert(string.trimmingCharacters(in: .whitespaces)) }
    }
}

/// A model shaped like all-MiniLM-L6-v2 (6 layers × 12 heads) with made-up weights, for layout checks.
struct WideFakeSource: AttentionSource {
    let tokens = ["[CLS]", "the", "animal", "didn", "'", "t", "cross", "the", "street", "because", "it", "was", "too",
                  "tire", "##d", ".", "[SEP]"]
    var modelDescription: String { "fake encoder: 6 layers × 12 heads" }
    var layerCount: Int { 6 }
    var headCount: Int { 12 }
    var contextLength: Int { 512 }
    var wordGrouping: WordGrouping? { WordGrouping(wordPieces: tokens) }
    var knockoutMeasure: String { "made up" }
    func knockoutEffects() -> [[Float]]? { tokens.indices.map { f in tokens.indices.map { Float(($0 + f) % 5) / 10 } } }
    func weights(layer: Int, head: Int) -> Tensor {
        let t = tokens.count
        return Tensor(shape: [t, t], scalars: (0..<(t * t)).map { k in (k % t == (k / t + layer + head) % t) ? 0.6 : 0.4 / Float(t - 1) })
    }
}

@Suite struct WideModelViewTests {
    /// Six layers × twelve heads fit a 1280-px-wide window (the browser runs at 1280 × 900).
    @Test(.enabled(if: HeadlessChromium.shouldRun, "no Chromium: set ATTEND_CHROMIUM (scripts/ci/browser.sh installs one)"))
    func twelveHeadsFitA1280PixelWindow() throws {
        let html = HTMLView.render(WideFakeSource(), title: "The animal didn't cross the street because it was too tired.")
        let result = try HeadlessChromium.selfTest(html: html, name: "wide")
        let checks = result["checks"] as? [String: Bool] ?? [:]
        #expect(checks["gridFitsItsSection"] == true && checks["attributionPanel"] == true, "checks: \(checks)")
        #expect(html.contains("\"knockoutMeasure\":\"made up\""))
        #expect(result["pass"] as? Bool == true, "failed: \(checks.filter { !$0.value }.map(\.key)), errors \(result["errors"] ?? "?")")
    }

    @Test func wordPiecesJoinTheirWordAndSpecialTokensStandAlone() {
        let grouping = WordGrouping(wordPieces: ["[CLS]", "play", "##ing", "##s", "cats", "##", "[SEP]", "##x"])
        #expect(grouping.words == ["[CLS]", "playings", "cats", "##", "[SEP]", "##x"])
        #expect(grouping.wordOfToken == [0, 1, 1, 1, 2, 3, 4, 5])
        let tired = WordGrouping(wordPieces: WideFakeSource().tokens)
        #expect(tired.words.contains("tired") && tired.words.count == WideFakeSource().tokens.count - 1)
    }
}
