// Creating a run of a pipeline version, with a form built from the inputs the version
// declares (status.parameters: name, type, default, optional). Values are checked by type
// here to help; the server checks them again and decides, and its refusal is shown.
import { can, listAll, get, path, post } from '../api.js';
import { h, href, showError } from '../dom.js';
import { check, typeName } from '../params.js';

export async function render(root, { ns, pipeline, version, query }) {
  const [v, experiments, mayCreate] = await Promise.all([
    get(path(ns, 'pipelineversions', version)),
    listAll(path(ns, 'experiments')),
    can(ns, 'create', 'runs'),
  ]);
  root.append(h('h1', {}, 'New run', h('span', { class: 'muted' },
    h('a', { href: href('ns', ns, 'pipelines', pipeline) + '?version=' + encodeURIComponent(version) }, `${pipeline} / ${version}`))));
  if (!mayCreate) {
    root.append(h('p', { class: 'muted', id: 'no-create' }, `You may not create runs in ${ns}.`));
    return;
  }
  const name = h('input', { name: 'name', placeholder: `generated: ${pipeline}-…`, pattern: '[a-z0-9]([-a-z0-9.]*[a-z0-9])?' });
  const exps = experiments.items.map((e) => e.metadata.name).sort();
  const experiment = h('select', { name: 'experiment', required: true },
    exps.map((e) => h('option', { value: e, selected: e === query.get('experiment') }, e)));
  const fields = (v.status?.parameters || []).map((p) => field(p));
  const submit = h('button', { type: 'submit', id: 'create-run' }, 'Create run');
  const form = h('form', {
    class: 'panel', id: 'run-form', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const bad = fields.filter((f) => !f.validate());
      if (bad.length) { bad[0].input.focus(); return; }
      const run = {
        apiVersion: 'pipelines.kubeflow.org/v1beta1', kind: 'Run',
        metadata: name.value.trim() ? { name: name.value.trim() } : { generateName: `${pipeline}-` },
        spec: {
          experimentName: experiment.value,
          pipelineRef: { pipelineName: pipeline, versionName: version },
          parameters: fields.map((f) => f.value()).filter(Boolean),
        },
      };
      submit.disabled = true;
      try {
        showError(null);
        const created = await post(path(ns, 'runs'), run);
        location.hash = href('ns', ns, 'runs', created.metadata.name);
      } catch (err) {
        showError(err);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div', { class: 'filters' }, h('label', {}, 'Run name', name), h('label', {}, 'Experiment', experiment)),
  exps.length ? null : h('p', { class: 'muted' }, `No experiment in ${ns}: create one first (a run belongs to one).`),
  fields.length ? h('table', { class: 'params' },
    h('thead', {}, h('tr', {}, ['Parameter', 'Type', 'Value', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, fields.map((f) => f.row))) : h('p', { class: 'muted' }, 'The pipeline declares no inputs.'),
  submit);
  root.append(form);
}

// field is one input's row in the form: prefilled with its default, checked by type.
function field(p) {
  const type = p.type || '';
  const initial = p.default ?? '';
  let input;
  if (type === 'BOOLEAN') {
    input = h('select', {}, (p.optional ? [''] : []).concat(['true', 'false']).map((o) => h('option', { value: o, selected: o === initial }, o || '(not set)')));
  } else if (type === 'LIST' || type === 'STRUCT') {
    input = h('textarea', { rows: 2, cols: 40 });
    input.value = initial;
  } else {
    input = h('input', { value: initial, size: 40 });
  }
  input.name = `param-${p.name}`;
  input.id = input.name;
  input.dataset.param = p.name;
  const message = h('span', { class: 'invalid', 'data-invalid': p.name });
  const validate = () => {
    const value = input.value;
    let why = '';
    if (value === '') why = p.optional ? '' : 'required';
    else why = check(type, value) && `must be ${check(type, value)}`;
    message.textContent = why;
    input.setAttribute('aria-invalid', why ? 'true' : 'false');
    return !why;
  };
  input.addEventListener('change', validate);
  return {
    input, validate,
    // An empty optional input is left out, so the pipeline's default applies.
    value: () => (input.value === '' ? null : { name: p.name, value: input.value }),
    row: h('tr', {}, h('td', {}, h('label', { for: input.name }, p.name), p.optional ? h('span', { class: 'muted' }, ' (optional)') : null),
      h('td', { class: 'muted' }, typeName(type)),
      h('td', {}, input), h('td', {}, message)),
  };
}
