// The runs of a namespace or of an experiment, newest first, a page at a time, filtered
// by phase, pipeline and experiment (field selectors the server indexes), kept current
// through a watch on runs.
//
// Where the server serves recentruns (runs newest first, from an index: docs/storage.md),
// each page is one request and the watch starts at the page's resourceVersion. Otherwise
// every matching run is listed and sorted here.
import { get, path, serves, stream, watch } from '../api.js';
import { ago, duration, h, href, phaseBadge, showError, table } from '../dom.js';

const PAGE = 20;
export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Error', 'Skipped', 'Canceling', 'Canceled'];

// newestFirst orders runs by creation time, newest first, then by name, as recentruns does.
export function newestFirst(a, b) {
  const t = Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp);
  return t || a.metadata.name.localeCompare(b.metadata.name);
}

// The continue tokens of recentruns' pages seen, per namespace and filter: page n is read
// with tokens[n].
const tokens = new Map();

export async function render(root, { ns, experiment, query }) {
  const filter = {
    phase: query.get('phase') || '',
    pipeline: query.get('pipeline') || '',
    experiment: experiment || query.get('experiment') || '',
  };
  let page = Number(query.get('page') || 0);
  const selectors = [];
  if (filter.phase) selectors.push(`status.phase=${filter.phase}`);
  if (filter.pipeline) selectors.push(`spec.pipelineRef.pipelineName=${filter.pipeline}`);
  if (filter.experiment) selectors.push(`spec.experimentName=${filter.experiment}`);
  const fieldSelector = selectors.join(',');

  const go = (changes) => {
    const q = new URLSearchParams({ ...filter, page: 0, ...changes });
    for (const [k, v] of [...q]) if (!v || v === '0') q.delete(k);
    if (experiment) q.delete('experiment');
    const base = experiment ? href('ns', ns, 'experiments', experiment) : href('ns', ns, 'runs');
    location.hash = base + (q.toString() ? '?' + q : '');
  };
  const phase = h('select', { name: 'phase', onchange: (e) => go({ phase: e.target.value }) },
    h('option', { value: '' }, 'any'), PHASES.map((p) => h('option', { value: p, selected: p === filter.phase }, p)));
  const pipeline = h('input', { name: 'pipeline', value: filter.pipeline, placeholder: 'any' });
  const exp = h('input', { name: 'experiment', value: filter.experiment, placeholder: 'any', disabled: !!experiment });
  const body = h('div', { id: 'runs-page' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('h1', {}, experiment ? ['Runs of experiment ', h('em', {}, experiment)] : 'Runs', h('span', { class: 'muted' }, ns)),
    h('form', {
      class: 'filters', onsubmit: (e) => { e.preventDefault(); go({ pipeline: pipeline.value.trim(), experiment: exp.value.trim() }); },
    },
    h('label', {}, 'Phase', phase), h('label', {}, 'Pipeline', pipeline), h('label', {}, 'Experiment', exp),
    h('button', {}, 'Filter')),
    body,
  );

  // draw shows a page of runs; more says whether older ones follow, total is shown when known.
  const draw = (shown, more, total) => {
    body.dataset.source = total === undefined ? 'recentruns' : 'runs';
    body.replaceChildren(
      table(['Name', 'Phase', 'Experiment', 'Pipeline', 'Created', 'Duration'], shown.map((r) => h('tr', { 'data-run': r.metadata.name }, [
        h('td', {}, h('a', { href: href('ns', ns, 'runs', r.metadata.name) }, r.metadata.name)),
        h('td', {}, phaseBadge(r.status?.phase)),
        h('td', {}, h('a', { href: href('ns', ns, 'experiments', r.spec.experimentName) }, r.spec.experimentName)),
        h('td', {}, [r.spec.pipelineRef?.pipelineName, r.status?.pipelineVersion ? ` / ${r.status.pipelineVersion}` : ''].join('')),
        h('td', { title: r.metadata.creationTimestamp }, ago(r.metadata.creationTimestamp)),
        h('td', {}, duration(r.status?.startTime, r.status?.completionTime)),
      ])), { id: 'runs' }),
      ...(shown.length ? [] : [h('p', { class: 'muted' }, 'No runs.')]),
      h('div', { class: 'pager' },
        h('button', { disabled: page === 0, onclick: () => go({ ...filterNow(), page: page - 1 }) }, '‹ Newer'),
        h('span', {}, `Page ${page + 1}` + (total === undefined ? '' : ` of ${Math.max(1, Math.ceil(total / PAGE))} (${total} runs)`)),
        h('button', { disabled: !more, onclick: () => go({ ...filterNow(), page: page + 1 }) }, 'Older ›')),
    );
  };
  const filterNow = () => ({ phase: filter.phase, pipeline: filter.pipeline, experiment: filter.experiment });

  if (!(await serves('recentruns'))) {
    const w = watch(path(ns, 'runs'), { fieldSelector }, (items) => {
      const runs = items.sort(newestFirst);
      page = Math.min(page, Math.max(0, Math.ceil(runs.length / PAGE) - 1));
      draw(runs.slice(page * PAGE, (page + 1) * PAGE), (page + 1) * PAGE < runs.length, runs.length);
    }, showError);
    return () => w.stop();
  }

  const key = [ns, fieldSelector].join('|');
  if (!tokens.has(key)) tokens.set(key, ['']);
  const known = tokens.get(key);
  if (page >= known.length) page = 0;
  let stopped = false;
  let shown = [];
  let watching = null;
  // load reads the page, then watches runs from its resourceVersion: a change to a run
  // shown is drawn in place; a run created or deleted reads the page again.
  const load = async () => {
    while (!stopped) {
      try {
        const list = await get(path(ns, 'recentruns'), { limit: PAGE, continue: known[page], fieldSelector });
        if (stopped) return;
        const next = list.metadata?.continue || '';
        if (next) known[page + 1] = next;
        shown = list.items || [];
        draw(shown, !!next);
        let reload = false;
        watching = stream(path(ns, 'runs'), { fieldSelector, watch: 1, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true }, (line) => {
          if (!line.trim() || reload) return;
          const ev = JSON.parse(line);
          const i = shown.findIndex((r) => r.metadata.uid === ev.object?.metadata?.uid);
          if (ev.type === 'MODIFIED' && i >= 0) {
            shown[i] = ev.object;
            draw(shown, !!next);
          } else if (ev.type === 'ADDED' || ev.type === 'DELETED' || ev.type === 'ERROR') {
            reload = true;
            watching.stop();
          }
        });
        await watching.done;
        if (!reload && !stopped) await new Promise((r) => setTimeout(r, 500));
      } catch (e) {
        if (stopped) return;
        showError(e);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  };
  load();
  return () => { stopped = true; watching?.stop(); };
}
