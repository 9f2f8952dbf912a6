// The app shell: a hash router over routes.js, the namespace picker and the header.
// A view module exports render(root, params) and may return a function that stops what
// it started (watches, log streams) when the user navigates away.
import { routes, nav } from './routes.js';
import { h, showError } from './dom.js';
import { namespaces, remember, state } from './namespaces.js';

const compiled = routes.map((r) => {
  const names = [];
  const re = new RegExp('^' + r.pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '/?$');
  return { ...r, re, names };
});

let cleanup = null;
let generation = 0;

async function navigate() {
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  const gen = ++generation;
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  showError(null);
  const main = document.getElementById('view');
  for (const r of compiled) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    params.query = new URLSearchParams(qs || '');
    if (params.ns) { state.ns = params.ns; remember(params.ns); }
    renderHeader();
    const root = h('div', { 'data-view': r.pattern });
    main.replaceChildren(root);
    try {
      const mod = await r.view();
      const stop = await mod.render(root, params);
      if (gen !== generation) { if (stop) stop(); return; }
      cleanup = stop || null;
    } catch (e) {
      if (gen === generation) showError(e);
    }
    return;
  }
  main.replaceChildren(h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Start over')));
}

async function renderHeader() {
  const ns = state.ns;
  document.getElementById('nav').replaceChildren(...(ns ? nav.map((n) => {
    const target = '#' + n.path(encodeURIComponent(ns));
    return h('a', { href: target, class: location.hash.startsWith(target) ? 'active' : null }, n.title);
  }) : []));
  const select = document.getElementById('namespace');
  const list = await namespaces();
  const names = new Set(list);
  if (ns) names.add(ns);
  select.replaceChildren(h('option', { value: '' }, '—'), ...[...names].sort().map((n) => h('option', { value: n, selected: n === ns }, n)));
}

document.getElementById('namespace').addEventListener('change', (e) => {
  if (e.target.value) location.hash = `#/ns/${encodeURIComponent(e.target.value)}/runs`;
});
window.addEventListener('hashchange', navigate);
navigate();
