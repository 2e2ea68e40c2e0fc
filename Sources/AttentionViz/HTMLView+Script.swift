extension HTMLView {
    /// The page's script (plain ES2017, no libraries). State: layer, selected heads, level
    /// (tokens or words for byte-level models), the hovered/focused token, the pinned token.
    static let script = #"""
        'use strict';
        (function () {
        const DATA = JSON.parse(document.getElementById('attention-data').textContent);
        const SVG = 'http://www.w3.org/2000/svg';
        const state = { layer: 0, heads: new Set([0]), level: 'tokens', active: null, pinned: null, detail: null };
        // All heads at once, as BertViz, unless that means too many lines to draw smoothly.
        const tokenCount = DATA.tokens.length;
        // Many heads (a BERT encoder's 12): the model view gets the page's full width, below the head view.
        if (DATA.heads > 6) document.body.classList.add('many-heads');
        if (DATA.heads > 1 && tokenCount * tokenCount * DATA.heads <= 40000) { for (let h = 0; h < DATA.heads; h++) state.heads.add(h); }
        const headColor = h => `hsl(${Math.round(h * 360 / DATA.heads + 210) % 360}, 70%, 42%)`;
        function heatColor(v) {
          const stops = [[247, 251, 255], [107, 174, 214], [8, 48, 107]];
          v = Math.min(1, Math.max(0, v || 0)); const p = v * 2, i = Math.min(1, Math.floor(p)), f = p - i;
          const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
          return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
        }
        function labels() { return state.level === 'words' ? DATA.words.labels : DATA.tokens; }
        function matrix(layer, head) {
          return state.level === 'words' ? DATA.words.attention[layer][head] : DATA.attention[layer][head];
        }
        function el(name, attributes, parent) {
          const e = document.createElementNS(SVG, name);
          for (const k in attributes) e.setAttribute(k, attributes[k]);
          if (parent) parent.appendChild(e);
          return e;
        }
        const pct = v => Math.round(v * 100) + '%';

        // ---- controls
        const layerSelect = document.getElementById('layer-select');
        for (let l = 0; l < DATA.layers; l++) {
          const o = document.createElement('option'); o.value = l; o.textContent = 'Layer ' + (l + 1); layerSelect.appendChild(o);
        }
        layerSelect.addEventListener('change', () => { state.layer = +layerSelect.value; drawHeadView(); });
        const boxes = document.getElementById('head-boxes');
        for (let h = 0; h < DATA.heads; h++) {
          const label = document.createElement('label');
          const box = document.createElement('input'); box.type = 'checkbox'; box.checked = state.heads.has(h); box.value = h;
          box.setAttribute('aria-label', 'Show head ' + (h + 1));
          box.addEventListener('change', () => { box.checked ? state.heads.add(h) : state.heads.delete(h); drawHeadView(); });
          const sw = document.createElement('span'); sw.className = 'swatch'; sw.style.background = headColor(h);
          label.append(box, sw, document.createTextNode('Head ' + (h + 1)));
          boxes.appendChild(label);
        }
        if (DATA.words) {
          const levelLabel = document.getElementById('level-label'); levelLabel.hidden = false;
          const levelSelect = document.getElementById('level-select');
          levelSelect.addEventListener('change', () => {
            state.level = levelSelect.value; state.active = state.pinned = null; drawHeadView(); drawGrid();
          });
        }

        // ---- head view
        const svg = document.getElementById('head-svg');
        const linesGroup = document.getElementById('lines');
        function drawTokens() {
          const names = labels(), rowHeight = 22, width = 560, left = 130, right = width - 130;
          svg.setAttribute('width', width); svg.setAttribute('height', names.length * rowHeight + 30);
          svg.setAttribute('viewBox', `0 0 ${width} ${names.length * rowHeight + 30}`);
          for (const side of ['left', 'right']) {
            const group = document.getElementById(side + '-tokens'); group.textContent = '';
            names.forEach((name, i) => {
              const g = el('g', { class: 'tok', tabindex: 0, role: 'button', 'data-side': side, 'data-index': i,
                'aria-label': `${name}, ${side === 'left' ? 'as query' : 'as key'}, token ${i + 1} of ${names.length}` }, group);
              const y = 20 + i * rowHeight;
              el('rect', { x: side === 'left' ? 4 : right + 4, y: y - 14, width: 122, height: 19 }, g);
              const t = el('text', side === 'left' ? { x: left - 8, y: y, 'text-anchor': 'end' } : { x: right + 8, y: y }, g);
              t.textContent = name.length > 18 ? name.slice(0, 17) + '…' : name;
              g.addEventListener('mouseenter', () => setActive(side, i));
              g.addEventListener('mouseleave', () => setActive(null));
              g.addEventListener('focus', () => setActive(side, i));
              g.addEventListener('blur', () => setActive(null));
              g.addEventListener('click', () => togglePin(side, i));
              g.addEventListener('keydown', e => {
                if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); togglePin(side, i); }
                if (e.key === 'Escape') { state.pinned = null; setActive(null); }
                // Arrows move between tokens (up/down) and between the two columns (left/right).
                const moves = { ArrowUp: [side, i - 1], ArrowDown: [side, i + 1], ArrowLeft: ['left', i], ArrowRight: ['right', i] };
                const target = moves[e.key];
                if (target) {
                  e.preventDefault();
                  const next = document.querySelector(`#${target[0]}-tokens .tok[data-index="${target[1]}"]`);
                  if (next) next.focus();
                }
              });
            });
          }
          svg.dataset.left = left; svg.dataset.right = right; svg.dataset.rowHeight = rowHeight;
        }
        function setActive(side, i) { state.active = side ? { side, index: i } : null; drawLines(); }
        function togglePin(side, i) {
          const p = state.pinned;
          state.pinned = p && p.side === side && p.index === i ? null : { side, index: i }; drawLines();
        }
        function drawLines() {
          const names = labels(), left = +svg.dataset.left, right = +svg.dataset.right, rowHeight = +svg.dataset.rowHeight;
          const focus = state.active || state.pinned;
          linesGroup.textContent = '';
          const heads = [...state.heads].sort((a, b) => a - b);
          for (const h of heads) {
            const a = matrix(state.layer, h);
            for (let i = 0; i < names.length; i++) {
              if (focus && focus.side === 'left' && focus.index !== i) continue;
              for (let j = 0; j < names.length; j++) {
                if (focus && focus.side === 'right' && focus.index !== j) continue;
                const w = a[i][j]; if (w < 0.005) continue;
                el('line', { x1: left, y1: 15 + i * rowHeight, x2: right, y2: 15 + j * rowHeight, stroke: headColor(h),
                  'stroke-width': 2, 'stroke-opacity': Math.min(1, w).toFixed(3), 'data-head': h }, linesGroup);
              }
            }
          }
          document.querySelectorAll('.tok').forEach(g => {
            const side = g.dataset.side, i = +g.dataset.index;
            g.classList.toggle('active', !!(state.active && state.active.side === side && state.active.index === i));
            g.classList.toggle('pinned', !!(state.pinned && state.pinned.side === side && state.pinned.index === i));
          });
          // As in BertViz, the tokens on the other side are shaded by how much weight they get.
          document.querySelectorAll('.tok rect').forEach(r => { r.style.fill = ''; });
          if (focus) {
            const other = document.getElementById((focus.side === 'left' ? 'right' : 'left') + '-tokens');
            other.querySelectorAll('.tok').forEach(g => {
              const k = +g.dataset.index;
              let w = 0;
              for (const h of heads) {
                const a = matrix(state.layer, h);
                w = Math.max(w, focus.side === 'left' ? a[focus.index][k] : a[k][focus.index]);
              }
              g.querySelector('rect').style.fill = `rgba(31, 111, 235, ${(0.55 * w).toFixed(3)})`;
            });
          }
          describe(focus);
          drawAttribution();
        }
        // ---- attribution panel: weights (mean and per head), rollout and knockout, as bars side by side
        function drawAttribution() {
          const panel = document.getElementById('attribution-panel'); panel.textContent = '';
          const p = state.pinned;
          if (!p || p.side !== 'left') { panel.textContent = 'No query token pinned.'; return; }
          if (state.level !== 'tokens') { panel.textContent = 'Attribution is shown at the token level; switch Level to tokens.'; return; }
          const names = DATA.tokens, f = p.index, heads = [...state.heads].sort((a, b) => a - b);
          const mean = names.map((_, j) => heads.length ? heads.reduce((s, h) => s + DATA.attention[state.layer][h][f][j], 0) / heads.length : 0);
          const rollout = DATA.rollout ? DATA.rollout[f] : null, knockout = DATA.knockout ? DATA.knockout[f] : null;
          const top = a => Math.max(1e-12, ...a);
          const table = document.createElement('table'); table.className = 'attribution';
          const caption = document.createElement('caption');
          caption.textContent = `“${names[f]}” (token ${f + 1}), layer ${state.layer + 1}` + (knockout ? `; knockout: ${DATA.knockoutMeasure}` : '; knockout: not computed for this model or text length');
          table.appendChild(caption);
          const head = table.insertRow();
          for (const title of ['key', 'weight (mean)', 'per head', 'rollout', 'knockout']) {
            const th = document.createElement('th'); th.scope = 'col'; th.textContent = title; head.appendChild(th);
          }
          function bar(cell, value, max, color, digits) {
            const b = document.createElement('span'); b.className = 'bar';
            b.style.width = Math.round(80 * value / max) + 'px'; b.style.background = color;
            cell.append(b, document.createTextNode(' ' + value.toFixed(digits)));
          }
          names.forEach((name, j) => {
            const row = table.insertRow(); row.dataset.key = j;
            const th = document.createElement('th'); th.scope = 'row'; th.textContent = name; row.appendChild(th);
            bar(row.insertCell(), mean[j], top(mean), '#1f6feb', 3);
            const per = row.insertCell(); per.className = 'per-head';
            for (const h of heads) {
              const w = DATA.attention[state.layer][h][f][j];
              const b = document.createElement('span'); b.className = 'mini'; b.title = `head ${h + 1}: ${pct(w)}`;
              b.style.height = Math.max(1, Math.round(18 * w)) + 'px'; b.style.background = headColor(h); per.appendChild(b);
            }
            const r = row.insertCell(); if (rollout) bar(r, rollout[j], top(rollout), '#8250df', 3); else r.textContent = '–';
            const k = row.insertCell(); if (knockout) bar(k, knockout[j], top(knockout), '#cf222e', 4); else k.textContent = '–';
          });
          panel.appendChild(table);
        }
        function describe(focus) {
          const live = document.getElementById('live'), names = labels();
          if (!focus) { live.textContent = `Layer ${state.layer + 1}, ${state.heads.size} of ${DATA.heads} heads shown. Focus a token to read its attention.`; return; }
          const parts = [...state.heads].sort((a, b) => a - b).map(h => {
            const a = matrix(state.layer, h);
            const row = names.map((n, k) => [n, focus.side === 'left' ? a[focus.index][k] : a[k][focus.index]]);
            row.sort((x, y) => y[1] - x[1]);
            return `head ${h + 1}: ` + row.slice(0, 3).map(r => `${r[0]} ${pct(r[1])}`).join(', ');
          });
          const verb = focus.side === 'left' ? 'attends to' : 'is attended by';
          live.textContent = `“${names[focus.index]}” ${verb} (layer ${state.layer + 1}) — ` + parts.join('; ') + '.';
        }
        function drawHeadView() { drawTokens(); drawLines(); }

        // ---- model view
        const grid = document.getElementById('grid');
        function drawGrid() {
          grid.textContent = '';
          // Cells shrink so every head fits the section's width (6 layers × 12 heads in a
          // 1280-px window); each cell is the canvas, 2 px padding and 1 px border per side, and a 6-px gap.
          const available = grid.parentElement.clientWidth || 1100;
          const fit = Math.floor((available - 70 - 6 * DATA.heads) / DATA.heads) - 6;
          const n = labels().length, size = Math.max(16, Math.min(110, 4 * n, fit));
          grid.style.gridTemplateColumns = `70px repeat(${DATA.heads}, ${size + 6}px)`;
          grid.appendChild(document.createElement('div'));
          for (let h = 0; h < DATA.heads; h++) {
            const d = document.createElement('div'); d.className = 'axis'; d.textContent = 'Head ' + (h + 1); grid.appendChild(d);
          }
          for (let l = 0; l < DATA.layers; l++) {
            const d = document.createElement('div'); d.className = 'axis'; d.textContent = 'Layer ' + (l + 1); grid.appendChild(d);
            for (let h = 0; h < DATA.heads; h++) {
              const b = document.createElement('button'); b.type = 'button';
              b.setAttribute('aria-pressed', 'false'); b.dataset.layer = l; b.dataset.head = h;
              b.setAttribute('aria-label', `Layer ${l + 1}, head ${h + 1}: ${strongest(l, h)}. Press Enter to enlarge.`);
              const c = document.createElement('canvas'); c.width = size; c.height = size; c.setAttribute('aria-hidden', 'true');
              paint(c, matrix(l, h)); b.appendChild(c);
              b.addEventListener('click', () => enlarge(l, h));
              grid.appendChild(b);
            }
          }
        }
        function strongest(l, h) {
          const a = matrix(l, h), names = labels();
          let best = [0, 0, -1];
          a.forEach((row, i) => row.forEach((w, j) => { if (i !== j && w > best[2]) best = [i, j, w]; }));
          return best[2] < 0 ? 'single token' : `strongest off-diagonal: ${names[best[0]]} → ${names[best[1]]} ${pct(best[2])}`;
        }
        function paint(canvas, a) {
          const ctx = canvas.getContext('2d'), n = a.length, cell = canvas.width / n;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
            ctx.fillStyle = heatColor(a[i][j]); ctx.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
          }
        }
        function enlarge(l, h) {
          state.detail = { layer: l, head: h };
          grid.querySelectorAll('button').forEach(b => b.setAttribute('aria-pressed', String(+b.dataset.layer === l && +b.dataset.head === h)));
          const detail = document.getElementById('detail'), names = labels(), a = matrix(l, h), n = names.length;
          detail.textContent = '';
          const title = document.createElement('h3'); title.textContent = `Layer ${l + 1}, head ${h + 1}`; detail.appendChild(title);
          const longest = Math.min(16, Math.max(...names.map(x => x.length)));
          const cell = Math.max(10, Math.min(34, Math.floor(460 / n))), labelWidth = 16 + 7 * longest, top = 18 + 6 * longest;
          const s = el('svg', { width: labelWidth + n * cell + 10, height: top + n * cell + 10, role: 'img',
            'aria-label': `Heatmap of layer ${l + 1}, head ${h + 1}; the table below lists the weights.` }, detail);
          names.forEach((name, j) => {
            const x = labelWidth + j * cell + cell / 2;
            const t = el('text', { x: x, y: top - 6, 'font-size': 12, transform: `rotate(-50 ${x} ${top - 6})` }, s); t.textContent = name;
          });
          for (let i = 0; i < n; i++) {
            const t = el('text', { x: labelWidth - 6, y: top + i * cell + cell / 2 + 4, 'font-size': 12, 'text-anchor': 'end' }, s);
            t.textContent = names[i];
            for (let j = 0; j < n; j++) {
              const r = el('rect', { x: labelWidth + j * cell, y: top + i * cell, width: cell, height: cell, fill: heatColor(a[i][j]) }, s);
              el('title', {}, r).textContent = `${names[i]} → ${names[j]}: ${a[i][j].toFixed(2)}`;
              if (cell >= 28) {
                const v = el('text', { x: labelWidth + j * cell + cell / 2, y: top + i * cell + cell / 2 + 4, 'font-size': 10,
                  'text-anchor': 'middle', fill: a[i][j] > 0.55 ? '#fff' : '#111' }, s);
                v.textContent = a[i][j].toFixed(2);
              }
            }
          }
          const details = document.createElement('details');
          const summary = document.createElement('summary'); summary.textContent = 'Weights as a table'; details.appendChild(summary);
          const table = document.createElement('table'); table.className = 'weights';
          const caption = document.createElement('caption'); caption.textContent = `Layer ${l + 1}, head ${h + 1}: rows are queries, columns keys`;
          table.appendChild(caption);
          const head = table.insertRow(); head.appendChild(document.createElement('th'));
          names.forEach(nm => { const th = document.createElement('th'); th.scope = 'col'; th.textContent = nm; head.appendChild(th); });
          a.forEach((row, i) => {
            const tr = table.insertRow(); const th = document.createElement('th'); th.scope = 'row'; th.textContent = names[i]; tr.appendChild(th);
            row.forEach(w => { tr.insertCell().textContent = w.toFixed(2); });
          });
          details.appendChild(table); detail.appendChild(details);
        }

        drawHeadView(); drawGrid();

        // ---- self-test (file.html#selftest): used by the headless-browser test.
        function visibleLines() { return [...linesGroup.querySelectorAll('line')].filter(x => +x.getAttribute('stroke-opacity') > 0).length; }
        function selfTest() {
          const checks = {};
          const before = visibleLines();
          checks.linesDrawn = before > 0;
          const first = document.querySelector('#left-tokens .tok');
          first.dispatchEvent(new MouseEvent('mouseenter'));
          const hovered = visibleLines();
          checks.hoverIsolates = hovered > 0 && (hovered < before || labels().length === 1);
          checks.hoverLinesFromOneToken = [...linesGroup.querySelectorAll('line')].every(x => x.getAttribute('y1') === String(15));
          checks.liveTextMentionsToken = document.getElementById('live').textContent.indexOf(labels()[0]) >= 0;
          checks.keysShadedByWeight = [...document.querySelectorAll('#right-tokens .tok rect')].some(r => r.style.fill !== '');
          first.dispatchEvent(new MouseEvent('mouseleave'));
          checks.leaveRestores = visibleLines() === before;
          first.focus();
          checks.tokenIsFocusable = document.activeElement === first;
          // A headless page without window focus gets no focus event from focus(); send it.
          if (!state.active) first.dispatchEvent(new FocusEvent('focus'));
          checks.keyboardFocusIsolates = visibleLines() === hovered;
          first.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
          first.dispatchEvent(new FocusEvent('blur'));
          checks.enterPins = visibleLines() === hovered && first.classList.contains('pinned');
          first.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
          checks.escapeClears = visibleLines() === before;
          first.focus();
          first.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
          checks.arrowMovesFocus = labels().length === 1 || document.activeElement === document.querySelector('#left-tokens .tok[data-index="1"]');
          if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
          state.active = null; drawLines();
          const cells = grid.querySelectorAll('button');
          checks.gridHasEveryHead = cells.length === DATA.layers * DATA.heads;
          checks.gridFitsItsSection = grid.scrollWidth <= grid.parentElement.clientWidth + 1;
          state.pinned = null; togglePin('left', 0);
          const attributionRows = document.querySelectorAll('#attribution-panel tr[data-key]').length;
          checks.attributionPanel = attributionRows === (state.level === 'tokens' ? DATA.tokens.length : 0)
            || (state.level !== 'tokens' && attributionRows === 0);
          state.pinned = null; drawLines();
          const canvas = cells[0].querySelector('canvas');
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0; for (let k = 0; k < pixels.length; k += 4) if (pixels[k + 3] > 0 && pixels[k] < 240) inked++;
          checks.canvasNotEmpty = inked > 0;
          cells[cells.length - 1].click();
          const n = labels().length;
          checks.enlargedHeatmap = document.querySelectorAll('#detail rect').length === n * n;
          if (DATA.layers > 1) {
            layerSelect.value = 1; layerSelect.dispatchEvent(new Event('change'));
            checks.layerSwitchRedraws = visibleLines() > 0 && state.layer === 1;
          }
          const result = { checks: checks, errors: window.__errors.slice(), tokens: n, lines: before, linesWhileHovering: hovered };
          result.pass = Object.keys(checks).every(k => checks[k]) && result.errors.length === 0;
          const out = document.getElementById('selftest-result');
          out.textContent = JSON.stringify(result); out.hidden = false;
          document.title = 'selftest ' + (result.pass ? 'pass' : 'fail');
        }
        if (location.hash === '#selftest') selfTest();
        // file.html#pin=3 opens with token 3 pinned and the first heatmap enlarged (for screenshots, links).
        const pin = /^#pin=(\d+)$/.exec(location.hash);
        if (pin && +pin[1] >= 1 && +pin[1] <= labels().length) { togglePin('left', +pin[1] - 1); enlarge(0, 0); }
        })();
        """#
}
