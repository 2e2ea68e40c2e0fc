import Attention

/// `attend view --out FILE.html`: one standalone page (no network, no CDN; style, script and
/// data inline) with two views of every layer and head:
///
/// - **Head view** (after BertViz): query tokens on the left, key tokens on the right, a line
///   from `i` to `j` per selected head with opacity `A[i, j]`, one colour per head. Hovering
///   or focusing (Tab) a token isolates its lines; Enter pins it, Escape clears. A live
///   region reads the focused token's strongest keys to screen readers.
/// - **Model view**: a grid of small heatmaps, layers × heads; click or press Enter on one to
///   enlarge it with labels and an accessible table of its weights.
///
/// Opening the file with `#selftest` runs a self-check in the page (see ``selfTestMarker``)
/// that headless Chromium uses in the tests.
public enum HTMLView {
    /// The element whose text the self-test fills with a JSON result.
    public static let selfTestMarker = "selftest-result"

    public static func render(_ source: any AttentionSource, title: String) -> String {
        let data = JSONValue.object([
            ("title", .string(title)),
            ("model", .string(source.modelDescription)),
            ("notes", .strings(source.notes)),
            ("tokens", .strings(source.tokens)),
            ("layers", .int(source.layerCount)),
            ("heads", .int(source.headCount)),
            ("attention", .array(source.allWeights().map { layer in .array(layer.map(rounded)) })),
            ("words", wordData(source)),
            ("rollout", rolloutData(source)),
            ("knockout", source.knockoutEffects().map { rows in .array(rows.map { .floats($0.map(roundedFloat)) }) } ?? .null),
            ("knockoutMeasure", .string(source.knockoutMeasure)),
        ])
        // Inside <script>, "</script" ends the element and "<!--" changes how it is parsed; "<"
        // only occurs inside JSON strings, where "\u003c" means the same character.
        let json = data.serialized(pretty: false).replacingOccurrences(of: "<", with: "\\u003c")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Attention: \(SVGHeatmap.escaped(title))</title>
            <script>\(errorCapture)</script>
            <style>\(style)</style>
            </head>
            <body>
            \(body(title: title, source: source))
            <script type="application/json" id="attention-data">\(json)</script>
            <script>\(script)</script>
            </body>
            </html>

            """
    }

    /// A weight matrix as nested arrays rounded to 4 decimals (the page shows 2).
    static func rounded(_ t: Tensor) -> JSONValue {
        let n = t.shape[1]
        return .array((0..<t.shape[0]).map { i in
            .array((0..<n).map { j in .double((Double(t.scalars[i * n + j]) * 10_000).rounded() / 10_000) })
        })
    }

    /// The rollout matrix `R = Â_N⋯Â_1` (``AttributionMath/rollout(_:)``), row = focus token.
    static func rolloutData(_ source: any AttentionSource) -> JSONValue {
        let t = source.tokens.count
        let layers = source.allWeights().map { heads in
            Tensor(shape: [heads.count, t, t], scalars: heads.flatMap(\.scalars))
        }
        guard !layers.isEmpty else { return .null }
        return .array(AttributionMath.rollout(layers).map { row in .array(row.map { .double(($0 * 10_000).rounded() / 10_000) }) })
    }

    static func roundedFloat(_ v: Float) -> Float { Float((Double(v) * 1_000_000).rounded() / 1_000_000) }

    static func wordData(_ source: any AttentionSource) -> JSONValue {
        guard let grouping = source.wordGrouping else { return .null }
        return .object([
            ("labels", .strings(grouping.words)),
            ("attention", .array(source.allWeights().map { layer in
                .array(layer.map { rounded(WordAggregation.aggregate($0, grouping: grouping)) })
            })),
        ])
    }

    /// Installed before anything else so the self-test sees every error, even a parse error
    /// in the main script.
    static let errorCapture = """
        window.__errors = [];
        addEventListener('error', function (e) { window.__errors.push(String(e.message || e)); });
        addEventListener('unhandledrejection', function (e) { window.__errors.push('unhandled rejection: ' + e.reason); });
        (function () { var original = console.error; console.error = function () {
          window.__errors.push(Array.prototype.join.call(arguments, ' ')); return original.apply(console, arguments); }; })();
        """

    static func body(title: String, source: any AttentionSource) -> String {
        let notes = source.notes.map { "<p class=\"note\">\(SVGHeatmap.escaped($0))</p>" }.joined(separator: "\n")
        return """
            <header>
            <h1>Attention: <q>\(SVGHeatmap.escaped(title))</q></h1>
            <p class="model">\(SVGHeatmap.escaped(source.modelDescription))</p>
            \(notes)
            </header>
            <main>
            <section id="head-view" aria-labelledby="head-view-title">
            <h2 id="head-view-title">Head view</h2>
            <div class="controls">
              <label>Layer <select id="layer-select"></select></label>
              <label id="level-label" hidden>Level <select id="level-select"><option value="tokens">tokens</option><option value="words">words</option></select></label>
              <fieldset id="head-boxes"><legend>Heads</legend></fieldset>
            </div>
            <p class="hint" id="head-view-hint">Left: each token as a query. Right: each token as a key. A line's opacity is the
            attention weight. Hover or focus (Tab) a token to isolate its attention; arrows move between tokens; Enter pins;
            Escape clears.</p>
            <svg id="head-svg" role="group" aria-describedby="head-view-hint" aria-label="Head view: attention lines between tokens">
            <g id="lines"></g><g id="left-tokens"></g><g id="right-tokens"></g></svg>
            <p id="live" class="summary" aria-live="polite"></p>
            <section id="attribution" aria-labelledby="attribution-title">
            <h3 id="attribution-title">Attribution of the pinned token</h3>
            <p class="hint" id="attribution-hint">Pin a query token (left column: click or Enter) to compare, for every key token,
            this layer's weight (mean over the shown heads, and each head), the rollout over all layers, and the knockout:
            how much the pinned token's output changes when that one edge is removed in every layer and head.
            High weight does not guarantee causal importance.</p>
            <div id="attribution-panel"></div>
            </section>
            </section>
            <section id="model-view" aria-labelledby="model-view-title">
            <h2 id="model-view-title">Model view</h2>
            <p class="hint">Every layer (rows) × head (columns). Click or press Enter on a heatmap to enlarge it.</p>
            <div id="grid"></div>
            <div id="detail" tabindex="-1" aria-live="polite"></div>
            </section>
            </main>
            <footer><p>Generated by <code>attend view</code> (swift-attention). Standalone: no network access.</p>
            <pre id="\(selfTestMarker)" hidden></pre></footer>
            """
    }
}
