// The start page: the namespaces the user may list runs in.
import { can } from '../api.js';
import { h, href, table } from '../dom.js';
import { config, namespaces, remember } from '../namespaces.js';

export async function render(root) {
  const cfg = await config();
  const list = await namespaces();
  const input = h('input', { name: 'namespace', placeholder: 'another namespace', 'aria-label': 'another namespace' });
  const note = h('span', { class: 'muted' });
  const form = h('form', {
    class: 'filters',
    onsubmit: async (e) => {
      e.preventDefault();
      const ns = input.value.trim();
      if (!ns) return;
      if (await can(ns, 'list', 'runs')) { remember(ns); location.hash = href('ns', ns, 'runs'); }
      else note.textContent = `You may not list runs in ${ns}.`;
    },
  }, input, h('button', {}, 'Open'), note);
  root.append(
    h('h1', {}, 'Namespaces'),
    list.length
      ? table(['Namespace', ''], list.map((ns) => [
        h('a', { href: href('ns', ns, 'runs'), 'data-namespace': ns }, ns),
        h('a', { href: href('ns', ns, 'experiments') }, 'experiments'),
      ]), { id: 'namespaces' })
      : h('p', { class: 'muted' }, 'You may not list runs in any namespace the UI knows of; open one by name.'),
    form,
    cfg.mode === 'forwarded-token' ? null : h('p', { class: 'muted' }, 'Acting as your kubeconfig\'s user: you see what RBAC lets you see.'),
  );
}
