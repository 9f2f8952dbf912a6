// Two or more runs side by side: their parameters (with their versions' defaults for those
// left out) and the metrics their tasks reported, rows that differ marked. Without runs to
// compare in the address (?runs=a,b) it offers the namespace's newest runs to pick from.
import { get, path, request, serves } from '../api.js';
import { ago, h, href, phaseBadge, table } from '../dom.js';
import { newestFirst } from './runs.js';

const PICK = 50;

export async function render(root, { ns, query }) {
  const names = (query.get('runs') || '').split(',').filter(Boolean);
  root.append(h('h1', {}, 'Compare runs', h('span', { class: 'muted' }, ns)));
  if (names.length < 2 || query.has('pick')) {
    await picker(root, ns, names);
    return;
  }
  const q = new URLSearchParams(names.map((n) => ['run', n]));
  const cmp = await request('GET', `/ui/compare/namespaces/${encodeURIComponent(ns)}?${q}`);
  // A fresh heading for each table: a node is in one place only.
  const heads = () => ['', ...cmp.runs.map((r) => h('span', {}, h('a', { href: href('ns', ns, 'runs', r.name) }, r.name), ' ', phaseBadge(r.phase)))];
  const rows = (list) => list.map((row) => h('tr', { class: row.differs ? 'differs' : null, 'data-row': row.name, 'data-differs': String(row.differs) },
    h('th', {}, row.name, row.differs ? h('span', { class: 'diff-mark', title: 'the runs differ' }, ' ≠') : null),
    row.values.map((c) => h('td', {}, c === null ? h('span', { class: 'muted' }, '—')
      : c.default ? [c.value, h('span', { class: 'muted' }, ' (default)')] : c.value))));
  root.append(
    h('p', { class: 'muted' }, h('a', { href: href('ns', ns, 'compare') + '?runs=' + names.map(encodeURIComponent).join(',') + '&pick=1' }, 'Choose other runs')),
    table(heads(), [
      h('tr', {}, h('th', {}, 'Pipeline'), cmp.runs.map((r) => h('td', {}, r.pipeline))),
      h('tr', {}, h('th', {}, 'Version'), cmp.runs.map((r) => h('td', {}, r.version || ''))),
      h('tr', {}, h('th', {}, 'Created'), cmp.runs.map((r) => h('td', { title: r.created }, ago(r.created)))),
    ], { id: 'compare-runs' }),
    h('h2', {}, 'Parameters'),
    cmp.parameters.length ? table(heads(), rows(cmp.parameters), { id: 'compare-parameters', class: 'compare' }) : h('p', { class: 'muted' }, 'No parameters.'),
    h('h2', {}, 'Metrics'),
    cmp.metrics.length ? table(heads(), rows(cmp.metrics), { id: 'compare-metrics', class: 'compare' })
      : h('p', { class: 'muted', id: 'no-metrics' }, cmp.metricsNote || 'No metrics.'),
  );
}

// picker lists the newest runs with a box each, and compares the ones ticked, in the order
// they were ticked (those from the address first, in its order).
async function picker(root, ns, ticked) {
  // The newest runs: one page of recentruns where the server serves it, else a list sorted here.
  const list = (await serves('recentruns')) ? await get(path(ns, 'recentruns'), { limit: PICK }) : await get(path(ns, 'runs'), { limit: 500 });
  const runs = (list.items || []).sort(newestFirst).slice(0, PICK);
  const listed = new Set(runs.map((r) => r.metadata.name));
  let chosen = ticked.filter((n) => listed.has(n));
  const boxes = runs.map((r) => h('input', {
    type: 'checkbox', value: r.metadata.name, checked: chosen.includes(r.metadata.name),
    onchange: (e) => { chosen = chosen.filter((n) => n !== e.target.value).concat(e.target.checked ? [e.target.value] : []); },
  }));
  root.append(
    h('p', { class: 'muted' }, 'Tick two or more runs.'),
    h('form', {
      id: 'compare-pick',
      onsubmit: (e) => {
        e.preventDefault();
        if (chosen.length >= 2) location.hash = href('ns', ns, 'compare') + '?runs=' + chosen.map(encodeURIComponent).join(',');
      },
    },
    table(['', 'Name', 'Phase', 'Pipeline', 'Created'], runs.map((r, i) => h('tr', { 'data-run': r.metadata.name },
      h('td', {}, boxes[i]),
      h('td', {}, h('a', { href: href('ns', ns, 'runs', r.metadata.name) }, r.metadata.name)),
      h('td', {}, phaseBadge(r.status?.phase)),
      h('td', {}, r.spec.pipelineRef?.pipelineName || ''),
      h('td', { title: r.metadata.creationTimestamp }, ago(r.metadata.creationTimestamp))))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'compare' }, 'Compare'))),
  );
}
