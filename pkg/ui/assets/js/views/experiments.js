// The experiments of a namespace, kept current through a watch, with their actions.
import { path, watch } from '../api.js';
import { buttons } from '../actions.js';
import { ago, h, href, showError, table } from '../dom.js';

export async function render(root, { ns }) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, 'Experiments', h('span', { class: 'muted' }, ns)), body);
  let drawing = Promise.resolve();
  const w = watch(path(ns, 'experiments'), {}, (items) => {
    items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    drawing = drawing.then(async () => {
      const rows = await Promise.all(items.map(async (e) => h('tr', { 'data-experiment': e.metadata.name }, [
        h('td', {}, h('a', { href: href('ns', ns, 'experiments', e.metadata.name) }, e.metadata.name)),
        h('td', {}, e.spec?.description || ''),
        h('td', {}, e.status?.storageState || ''),
        h('td', {}, ago(e.status?.lastRunCreatedAt)),
        h('td', {}, await buttons(ns, 'experiments', e)),
      ].map((c) => c))));
      body.replaceChildren(table(['Name', 'Description', 'State', 'Last run', ''], rows, { id: 'experiments' }),
        ...(items.length ? [] : [h('p', { class: 'muted' }, 'No experiments.')]));
    });
  }, showError);
  return () => w.stop();
}
