// Actions on objects: shown when a SelfSubjectAccessReview allows them; the server decides
// again when the request is made, and its refusal is shown as an error.
import { can, del, path, post } from './api.js';
import { h, showError } from './dom.js';

// The actions of each resource: a subresource POSTed with an empty body, or delete.
export const actions = {
  runs: [
    { name: 'terminate', title: 'Terminate', when: (o) => !finished(o) },
    { name: 'retry', title: 'Retry', when: (o) => ['Failed', 'Error'].includes(o.status?.phase) },
    { name: 'archive', title: 'Archive', when: (o) => o.status?.storageState !== 'Archived' },
    { name: 'unarchive', title: 'Unarchive', when: (o) => o.status?.storageState === 'Archived' },
    { name: 'delete', title: 'Delete', danger: true },
  ],
  experiments: [
    { name: 'archive', title: 'Archive', when: (o) => o.status?.storageState !== 'Archived' },
    { name: 'unarchive', title: 'Unarchive', when: (o) => o.status?.storageState === 'Archived' },
    { name: 'delete', title: 'Delete', danger: true },
  ],
  jobs: [
    { name: 'enable', title: 'Enable', when: (o) => o.spec?.enabled === false },
    { name: 'disable', title: 'Disable', when: (o) => o.spec?.enabled !== false },
    { name: 'delete', title: 'Delete', danger: true },
  ],
};

export function finished(run) {
  return ['Succeeded', 'Failed', 'Error', 'Skipped', 'Canceled'].includes(run.status?.phase);
}

// allowed says whether the user may do action on the object.
export function allowed(ns, resource, name, action) {
  return action === 'delete'
    ? can(ns, 'delete', resource, { name })
    : can(ns, 'create', resource, { subresource: action, name });
}

// perform sends the action and returns the object the server answered with (null for
// delete), or shows the server's error and returns undefined.
export async function perform(ns, resource, name, action) {
  try {
    showError(null);
    if (action === 'delete') { await del(path(ns, resource, name)); return null; }
    return await post(path(ns, resource, name, action));
  } catch (e) {
    showError(e);
    return undefined;
  }
}

// buttons renders the actions the user may take on obj, in a container the caller
// re-renders as obj changes. onDone gets the server's answer.
export async function buttons(ns, resource, obj, onDone = () => {}) {
  const name = obj.metadata.name;
  const list = actions[resource] || [];
  const ok = await Promise.all(list.map((a) => allowed(ns, resource, name, a.name)));
  return h('div', { class: 'actions', 'data-actions': resource },
    list.filter((a, i) => ok[i] && (!a.when || a.when(obj))).map((a) => {
      const b = h('button', {
        class: a.danger ? 'danger' : null, 'data-action': a.name,
        onclick: async () => {
          if (a.danger && b.dataset.confirm !== '1') { b.dataset.confirm = '1'; b.textContent = `${a.title}: click again`; return; }
          b.disabled = true;
          const res = await perform(ns, resource, name, a.name);
          b.disabled = false;
          if (res !== undefined) onDone(res, a.name);
        },
      }, a.title);
      return b;
    }));
}
