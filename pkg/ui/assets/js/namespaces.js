// Which namespaces the user may list runs in. A user can seldom list namespaces, so the
// candidates are: every namespace when they may list them, the kubeconfig context's
// namespace, and those visited before (kept in localStorage). Each candidate is checked
// with a SelfSubjectAccessReview for list runs.
import { can, get, ui } from './api.js';

export const state = { ns: '', config: null };

const KEY = 'pipelines-ui.namespaces';

export function remember(ns) {
  const seen = new Set(JSON.parse(localStorage.getItem(KEY) || '[]'));
  if (!seen.has(ns)) { seen.add(ns); localStorage.setItem(KEY, JSON.stringify([...seen].slice(-50))); }
}

export async function config() {
  if (!state.config) state.config = await ui('/config');
  return state.config;
}

let cached = null;
export function namespaces({ refresh = false } = {}) {
  if (!cached || refresh) {
    cached = (async () => {
      const cfg = await config();
      const candidates = new Set(JSON.parse(localStorage.getItem(KEY) || '[]'));
      if (cfg.namespace) candidates.add(cfg.namespace);
      if (await can('', 'list', 'namespaces', { group: '' })) {
        try { (await get('/api/v1/namespaces')).items.forEach((n) => candidates.add(n.metadata.name)); } catch { /* keep the others */ }
      }
      const allowed = await Promise.all([...candidates].map(async (n) => [n, await can(n, 'list', 'runs')]));
      return allowed.filter(([, ok]) => ok).map(([n]) => n).sort();
    })();
  }
  return cached;
}
