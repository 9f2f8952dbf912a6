// The pipelines of a namespace, and uploading a compiled pipeline as a version of a new
// or existing one. The UI server reads the file with the code of `kubectl pipelines
// upload` (a KFP v1 Argo workflow or a KFP 2.x pipeline IR, plain or packaged) and
// creates the objects as the user.
import { can, listAll, path, request } from '../api.js';
import { ago, h, href, showError, table } from '../dom.js';

export async function render(root, { ns }) {
  const [{ items }, mayUpload] = await Promise.all([
    listAll(path(ns, 'pipelines')),
    can(ns, 'create', 'pipelineversions'),
  ]);
  items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  root.append(...[
    h('h1', {}, 'Pipelines', h('span', { class: 'muted' }, ns)),
    mayUpload ? uploadForm(ns) : null,
    table(['Name', 'Description', 'Latest version', 'Versions', 'Created'], items.map((p) => h('tr', { 'data-pipeline': p.metadata.name }, [
      h('td', {}, h('a', { href: href('ns', ns, 'pipelines', p.metadata.name) }, p.spec?.displayName || p.metadata.name)),
      h('td', {}, p.spec?.description || ''),
      h('td', {}, p.status?.latestVersion || ''),
      h('td', {}, String(p.status?.versionCount || 0)),
      h('td', { title: p.metadata.creationTimestamp }, ago(p.metadata.creationTimestamp)),
    ].map((td) => td))), { id: 'pipelines' }),
    items.length ? null : h('p', { class: 'muted' }, 'No pipelines.'),
  ].filter(Boolean));
}

// uploadForm posts a file to the UI server's upload endpoint.
function uploadForm(ns) {
  const file = h('input', { type: 'file', name: 'file', required: true, accept: '.yaml,.yml,.json,.tar.gz,.tgz,.zip' });
  const pipeline = h('input', { name: 'pipeline', required: true, placeholder: 'pipeline name', pattern: '[a-z0-9]([-a-z0-9.]*[a-z0-9])?' });
  const version = h('input', { name: 'version', placeholder: 'generated from the file' });
  const description = h('input', { name: 'description', placeholder: 'optional' });
  const submit = h('button', { type: 'submit' }, 'Upload');
  file.addEventListener('change', () => {
    // The file's name, as a pipeline name, unless one was typed.
    const base = (file.files[0]?.name || '').replace(/\.(ya?ml|json|tar\.gz|tgz|zip)$/i, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    if (!pipeline.value && base) pipeline.value = base;
  });
  return h('details', { class: 'panel', id: 'upload' },
    h('summary', {}, 'Upload a pipeline'),
    h('form', {
      class: 'filters',
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          showError(null);
          const q = new URLSearchParams({ pipeline: pipeline.value.trim() });
          if (version.value.trim()) q.set('version', version.value.trim());
          if (description.value.trim()) q.set('description', description.value.trim());
          const res = await request('POST', `/ui/upload/namespaces/${encodeURIComponent(ns)}?${q}`,
            { body: file.files[0], contentType: 'application/octet-stream' });
          location.hash = href('ns', ns, 'pipelines', pipeline.value.trim()) + '?version=' + encodeURIComponent(res.version);
        } catch (err) {
          showError(err);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('label', {}, 'Compiled pipeline (KFP v1 or 2.x: YAML, JSON, .tar.gz, .zip)', file),
    h('label', {}, 'Pipeline', pipeline),
    h('label', {}, 'Version', version),
    h('label', {}, 'Description', description),
    submit));
}
