// Draws a Graph from /ui/graph/... (nodes placed in columns and rows by the server) as
// SVG, left to right, each task coloured by its phase (the phase-* classes of app.css).
const NS = 'http://www.w3.org/2000/svg';
const W = 170; const H = 38; const GX = 60; const GY = 18; const PAD = 12; const TOP = 34;

function el(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function short(s, n = 22) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

// renderGraph returns an <svg>; onSelect(node) is called when a task is clicked.
export function renderGraph(graph, { selected = '', onSelect = () => {} } = {}) {
  const x = (n) => PAD + n.column * (W + GX);
  const y = (n) => TOP + n.row * (H + GY);
  const width = PAD * 2 + Math.max(1, graph.columns) * (W + GX) - GX;
  const height = TOP + PAD + Math.max(1, graph.rows) * (H + GY) - GY;
  const svg = el('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'pipeline graph' });
  svg.append(el('defs', {}, el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    el('path', { class: 'arrow', d: 'M0,0 L10,5 L0,10 z' }))));
  const byID = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const e of graph.edges) {
    const a = byID.get(e.from); const b = byID.get(e.to);
    if (!a || !b) continue;
    let d;
    if (b.column - a.column > 1 && a.row === b.row) {
      // Over the tasks in between, not through them: from the top of one to the top of the other.
      const x1 = x(a) + W * 0.75; const x2 = x(b) + W * 0.25; const top = y(a); const lift = top - GY - 8;
      d = `M${x1},${top} C${x1},${lift} ${x2},${lift} ${x2},${top}`;
    } else {
      const x1 = x(a) + W; const y1 = y(a) + H / 2; const x2 = x(b); const y2 = y(b) + H / 2;
      const mx = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    }
    svg.append(el('path', { class: 'edge', d, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to }));
  }
  for (const n of graph.nodes) {
    const g = el('g', {
      class: `node phase-${n.phase || 'none'}${n.id === selected ? ' selected' : ''}`,
      transform: `translate(${x(n)},${y(n)})`, 'data-task': n.id, 'data-name': n.name, 'data-phase': n.phase || '', tabindex: 0,
    }, el('title', {}, `${n.id}: ${n.phase || 'not started'}`),
    el('rect', { width: W, height: H }),
    el('text', { x: 10, y: H / 2 + 4 }, short(n.name)));
    g.addEventListener('click', () => onSelect(n));
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') onSelect(n); });
    svg.append(g);
  }
  return svg;
}
