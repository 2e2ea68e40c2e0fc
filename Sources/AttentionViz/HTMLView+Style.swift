extension HTMLView {
    /// The page's CSS: system fonts, visible focus rings, a visually-hidden class.
    static let style = """
        :root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --line: #d0d7de; }
        body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto;
               max-width: 1180px; padding: 12px 20px; background: #fff; }
        h1 { font-size: 20px; margin: 4px 0; } h2 { font-size: 17px; margin: 18px 0 6px; }
        .model { color: var(--muted); margin: 2px 0; } .note { color: #8a4b00; margin: 2px 0; font-size: 13px; }
        .hint { color: var(--muted); font-size: 13px; margin: 4px 0 8px; }
        .controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; padding: 2px 10px; display: flex; gap: 10px; flex-wrap: wrap; }
        legend { font-size: 12px; color: var(--muted); }
        .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 3px; vertical-align: -1px; }
        #head-svg { display: block; max-width: 100%; height: auto; }
        @media (min-width: 1000px) { main { display: grid; grid-template-columns: minmax(0, 11fr) minmax(0, 9fr); gap: 28px; } }
        body.many-heads main { display: block; }
        table.attribution { border-collapse: collapse; font-size: 12px; margin-top: 4px; }
        table.attribution caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
        table.attribution th, table.attribution td { padding: 1px 6px; text-align: left; white-space: nowrap; }
        table.attribution th[scope=row] { font-weight: normal; max-width: 110px; overflow: hidden; text-overflow: ellipsis; }
        .bar { display: inline-block; height: 9px; border-radius: 2px; vertical-align: 0; min-width: 1px; }
        .per-head { line-height: 0; } .mini { display: inline-block; width: 4px; margin-right: 1px; vertical-align: bottom; }
        .tok text { font-size: 13px; fill: var(--ink); cursor: pointer; }
        .tok rect { fill: transparent; rx: 3; }
        .tok.active rect { fill: #fff3bf; } .tok.pinned rect { fill: #ffd43b; }
        .tok:focus { outline: none; } .tok:focus rect { stroke: #1f6feb; stroke-width: 2; }
        .summary { min-height: 1.4em; font-size: 13px; }
        #grid { display: grid; gap: 6px; align-items: center; }
        #grid .axis { font-size: 12px; color: var(--muted); text-align: center; }
        #grid button { padding: 2px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; line-height: 0; }
        #grid button:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid #1f6feb; outline-offset: 1px; }
        #grid button[aria-pressed="true"] { border-color: #1f6feb; box-shadow: 0 0 0 2px #1f6feb55; }
        #detail { margin-top: 12px; } #detail:focus { outline: none; }
        table.weights { border-collapse: collapse; font-size: 12px; margin-top: 8px; }
        table.weights th, table.weights td { border: 1px solid var(--line); padding: 2px 5px; text-align: right; }
        details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
        footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
        """
}
