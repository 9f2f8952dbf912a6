// The runs of a namespace or of an experiment, newest first, a page at a time, filtered
// by phase, pipeline and experiment (field selectors the server indexes), kept current
// through a watch.
import { path, watch } from '../api.js';
import { ago, duration, h, href, phaseBadge, showError, table } from '../dom.js';

const PAGE = 20;
export const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Error', 'Skipped', 'Canceling', 'Canceled'];

// newestFirst orders runs by creation time, newest first, then by name.
export function newestFirst(a, b) {
  const t = Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp);
  return t || a.metadata.name.localeCompare(b.metadata.name);
}

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
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('h1', {}, experiment ? ['Runs of experiment ', h('em', {}, experiment)] : 'Runs', h('span', { class: 'muted' }, ns)),
    h('form', {
      class: 'filters', onsubmit: (e) => { e.preventDefault(); go({ pipeline: pipeline.value.trim(), experiment: exp.value.trim() }); },
    },
    h('label', {}, 'Phase', phase), h('label', {}, 'Pipeline', pipeline), h('label', {}, 'Experiment', exp),
    h('button', {}, 'Filter')),
    body,
  );

  let runs = [];
  const draw = () => {
    const pages = Math.max(1, Math.ceil(runs.length / PAGE));
    page = Math.min(page, pages - 1);
    const shown = runs.slice(page * PAGE, (page + 1) * PAGE);
    body.replaceChildren(
      table(['Name', 'Phase', 'Experiment', 'Pipeline', 'Created', 'Duration'], shown.map((r) => h('tr', { 'data-run': r.metadata.name }, [
        h('td', {}, h('a', { href: href('ns', ns, 'runs', r.metadata.name) }, r.metadata.name)),
        h('td', {}, phaseBadge(r.status?.phase)),
        h('td', {}, h('a', { href: href('ns', ns, 'experiments', r.spec.experimentName) }, r.spec.experimentName)),
        h('td', {}, [r.spec.pipelineRef?.pipelineName, r.status?.pipelineVersion ? ` / ${r.status.pipelineVersion}` : ''].join('')),
        h('td', { title: r.metadata.creationTimestamp }, ago(r.metadata.creationTimestamp)),
        h('td', {}, duration(r.status?.startTime, r.status?.completionTime)),
      ].map((td) => td))), { id: 'runs' }),
      ...(runs.length ? [] : [h('p', { class: 'muted' }, 'No runs.')]),
      h('div', { class: 'pager' },
        h('button', { disabled: page === 0, onclick: () => go({ ...filterNow(), page: page - 1 }) }, '‹ Newer'),
        h('span', {}, `Page ${page + 1} of ${pages} (${runs.length} runs)`),
        h('button', { disabled: page >= pages - 1, onclick: () => go({ ...filterNow(), page: page + 1 }) }, 'Older ›')),
    );
  };
  const filterNow = () => ({ phase: filter.phase, pipeline: filter.pipeline, experiment: filter.experiment });
  const w = watch(path(ns, 'runs'), { fieldSelector: selectors.join(',') }, (items) => {
    runs = items.sort(newestFirst);
    draw();
  }, showError);
  return () => w.stop();
}
