// Every call to kube-apiserver goes through the UI server's /k8s prefix, which sends it on
// as the signed-in user: what RBAC refuses comes back as a Kubernetes Status and is thrown
// as an ApiError.

export const GROUP = 'pipelines.kubeflow.org';
export const VERSION = 'v1beta1';

export class ApiError extends Error {
  constructor(status) {
    super(status.message || `${status.code} ${status.reason || 'error'}`);
    this.code = status.code;
    this.reason = status.reason || '';
    this.status = status;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// path builds a path of this API group: path('team-a', 'runs', 'r1', 'terminate').
export function path(ns, resource, name, subresource) {
  let p = `/apis/${GROUP}/${VERSION}`;
  if (ns) p += `/namespaces/${encodeURIComponent(ns)}`;
  p += `/${resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

async function fail(res) {
  const text = await res.text();
  let status = null;
  try { status = JSON.parse(text); } catch { /* not JSON */ }
  if (!status || status.kind !== 'Status') status = { code: res.status, reason: res.statusText, message: text.trim() || res.statusText };
  throw new ApiError(status);
}

// request calls url (an absolute path on the UI server) and returns the decoded JSON.
export async function request(method, url, { body, contentType = 'application/json', signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = contentType;
  const res = await fetch(url, {
    method, headers, signal, credentials: 'same-origin',
    body: body === undefined || typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body),
  });
  if (!res.ok) await fail(res);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// k8s calls kube-apiserver: k8s('GET', path(ns, 'runs'), {query: {limit: 10}}).
export function k8s(method, p, opts = {}) {
  return request(method, '/k8s' + p + query(opts.query), opts);
}

export const get = (p, q, opts = {}) => k8s('GET', p, { ...opts, query: q });
export const post = (p, body = {}, opts = {}) => k8s('POST', p, { ...opts, body });
export const del = (p, opts = {}) => k8s('DELETE', p, opts);
export const patch = (p, body, opts = {}) => k8s('PATCH', p, { ...opts, body, contentType: 'application/merge-patch+json' });

// ui calls the UI server's own endpoints (/ui/graph/..., /ui/config).
export const ui = (p) => request('GET', '/ui' + p);

// listAll reads a whole list, a page at a time, and returns {items, resourceVersion}.
export async function listAll(p, q = {}) {
  const items = [];
  let cont = '';
  let rv = '';
  do {
    const list = await get(p, { ...q, limit: 500, continue: cont });
    items.push(...(list.items || []));
    cont = list.metadata?.continue || '';
    rv = list.metadata?.resourceVersion || rv;
  } while (cont);
  return { items, resourceVersion: rv };
}

// stream reads a streaming response line by line (watch events, followed logs) until
// stop() or the end, calling onLine with each line; it resolves when the stream ends.
export function stream(p, q, onLine) {
  const ctl = new AbortController();
  const done = (async () => {
    const res = await fetch('/k8s' + p + query(q), { signal: ctl.signal, credentials: 'same-origin' });
    if (!res.ok) await fail(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    if (buf) onLine(buf);
  })().catch((e) => { if (e.name !== 'AbortError') throw e; });
  return { stop: () => ctl.abort(), done };
}

// watch lists p and keeps the list current: onChange(items) after the list and after every
// change. It watches from the list's resourceVersion and lists again when the watch ends
// (the server closes watches after a while) or expires. stop() ends it.
export function watch(p, q, onChange, onError = () => {}) {
  let stopped = false;
  let current = null;
  const key = (o) => o.metadata.uid;
  const run = async () => {
    while (!stopped) {
      try {
        const list = await listAll(p, q);
        if (stopped) return;
        const items = new Map(list.items.map((o) => [key(o), o]));
        onChange([...items.values()]);
        let rv = list.resourceVersion;
        let gone = false;
        current = stream(p, { ...q, watch: 1, resourceVersion: rv, allowWatchBookmarks: true }, (line) => {
          if (!line.trim()) return;
          const ev = JSON.parse(line);
          if (ev.type === 'ERROR') { gone = true; current?.stop(); return; }
          rv = ev.object.metadata.resourceVersion;
          if (ev.type === 'BOOKMARK') return;
          if (ev.type === 'DELETED') items.delete(key(ev.object)); else items.set(key(ev.object), ev.object);
          onChange([...items.values()]);
        });
        await current.done;
        if (!gone && !stopped) await new Promise((r) => setTimeout(r, 500));
      } catch (e) {
        if (stopped) return;
        onError(e);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  };
  run();
  return { stop: () => { stopped = true; current?.stop(); } };
}

// can asks kube-apiserver whether the user may do something (SelfSubjectAccessReview);
// answers are kept for the page's life. The server decides again on the request itself.
const canCache = new Map();
export function can(ns, verb, resource, { subresource = '', name = '', group = GROUP } = {}) {
  const k = [ns, verb, group, resource, subresource, name].join('/');
  if (!canCache.has(k)) {
    const review = {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: ns, verb, group, resource, subresource, name } },
    };
    canCache.set(k, k8s('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: review })
      .then((r) => !!r.status?.allowed, () => false));
  }
  return canCache.get(k);
}

// serves says whether this API group serves a resource (discovery), for features that
// arrive with newer servers; asked once per page load.
let discovery = null;
export async function serves(resource) {
  if (!discovery) {
    discovery = get(`/apis/${GROUP}/${VERSION}`).then((d) => new Set((d.resources || []).map((r) => r.name)), () => new Set());
  }
  return (await discovery).has(resource);
}
