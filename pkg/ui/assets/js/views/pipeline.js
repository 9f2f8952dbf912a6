// One pipeline: its versions, and for the selected one (?version=, else the latest) its
// graph (computed by the UI server from the v1 Argo workflow or the v2 IR), its declared
// inputs and the button to create a run of it.
import { can, get, listAll, path, ui } from '../api.js';
import { renderGraph } from '../graph.js';
import { ago, h, href, kv, showError, table } from '../dom.js';
import { typeName } from '../params.js';

// format says which SDK compiled a version.
export function format(v) {
  if (v.spec?.pipelineSpec) return 'KFP 2.x (IR)';
  if (v.spec?.workflow) return 'KFP v1 (Argo)';
  return '';
}

export async function render(root, { ns, name, query }) {
  const [p, versions, mayRun] = await Promise.all([
    get(path(ns, 'pipelines', name)),
    listAll(path(ns, 'pipelineversions'), { fieldSelector: `spec.pipelineName=${name}` }),
    can(ns, 'create', 'runs'),
  ]);
  const items = versions.items.sort((a, b) => Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp)
    || a.metadata.name.localeCompare(b.metadata.name));
  const chosen = query.get('version') || p.status?.latestVersion || items[0]?.metadata.name || '';
  const v = items.find((x) => x.metadata.name === chosen);
  const versionHref = (vn) => href('ns', ns, 'pipelines', name) + '?version=' + encodeURIComponent(vn);
  root.append(
    h('h1', {}, p.spec?.displayName || name, h('span', { class: 'muted' }, ns)),
    kv([['description', p.spec?.description], ['latest version', p.status?.latestVersion], ['created', p.metadata.creationTimestamp],
      ['runs', h('a', { href: href('ns', ns, 'runs') + '?pipeline=' + encodeURIComponent(name) }, 'runs of this pipeline')]]),
    h('h2', {}, 'Versions'),
    table(['Name', 'Format', 'Description', 'Inputs', 'Created'], items.map((x) => h('tr', {
      'data-version': x.metadata.name, class: x.metadata.name === chosen ? 'selected' : null,
    }, [
      h('td', {}, x.metadata.name === chosen ? h('strong', {}, x.metadata.name) : h('a', { href: versionHref(x.metadata.name) }, x.metadata.name)),
      h('td', {}, format(x)),
      h('td', {}, x.spec?.description || ''),
      h('td', {}, String((x.status?.parameters || []).length)),
      h('td', { title: x.metadata.creationTimestamp }, ago(x.metadata.creationTimestamp)),
    ].map((td) => td))), { id: 'versions' }),
  );
  if (!v) {
    root.append(h('p', { class: 'muted' }, chosen ? `No version ${chosen}.` : 'No versions yet.'));
    return;
  }
  const graphBox = h('div', { class: 'panel', id: 'graph' }, h('span', { class: 'muted' }, 'Loading…'));
  const params = v.status?.parameters || [];
  root.append(
    h('h2', {}, 'Version ', h('em', {}, chosen)),
    h('div', { class: 'actions' }, mayRun
      ? h('a', { href: href('ns', ns, 'pipelines', name, 'versions', chosen, 'run'), id: 'new-run', class: 'button' }, 'Create run')
      : null),
    h('div', { class: 'columns' },
      h('div', {}, h('h2', {}, 'Graph'), graphBox),
      h('div', {}, h('h2', {}, 'Inputs'), params.length
        ? table(['Name', 'Type', 'Default', 'Optional'], params.map((x) => [x.name, typeName(x.type), x.default ?? '', x.optional ? 'yes' : 'no']), { id: 'inputs' })
        : h('p', { class: 'muted' }, 'No inputs.'))),
  );
  try {
    const g = await ui(`/graph/namespaces/${encodeURIComponent(ns)}/pipelineversions/${encodeURIComponent(chosen)}`);
    graphBox.replaceChildren(renderGraph(g));
  } catch (e) {
    graphBox.replaceChildren(h('span', { class: 'muted' }, e.message));
    showError(e);
  }
}
