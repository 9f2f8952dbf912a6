// Small DOM helpers shared by the views.

// h creates an element: h('a', {href: '#/'}, 'text', child, ...). Attributes starting
// with "on" are event listeners; null and false children are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// table builds a table from column headers and rows of cells.
export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

// kv is a definition list of [name, value] pairs, skipping empty values.
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function phaseBadge(phase) {
  return h('span', { class: `badge phase-${phase || 'none'}`, 'data-phase': phase || '' }, phase || 'Not started');
}

export function ago(ts) {
  if (!ts) return '';
  const s = Math.round((Date.now() - Date.parse(ts)) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ts).toLocaleString();
}

export function duration(start, end) {
  if (!start) return '';
  const s = Math.round(((end ? Date.parse(end) : Date.now()) - Date.parse(start)) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

// showError puts an error in the banner at the top (null hides it).
export function showError(err) {
  const box = document.getElementById('error');
  if (!err) { box.hidden = true; box.replaceChildren(); return; }
  const reason = err.reason ? ` (${err.reason})` : '';
  box.replaceChildren(h('button', { onclick: () => showError(null), 'aria-label': 'dismiss' }, '×'),
    `Error${reason}: ${err.message}`);
  box.hidden = false;
}

// link to a route of the app.
export const href = (...parts) => '#/' + parts.map(encodeURIComponent).join('/');
