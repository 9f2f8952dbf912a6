// One run: its state and actions, its graph (computed by the UI server from the pinned
// pipeline version and coloured by the run's steps), its parameters, the selected task's
// details and followed log, and its events. Everything follows a watch on the run.
import { get, path, stream, ui, watch } from '../api.js';
import { buttons } from '../actions.js';
import { renderGraph } from '../graph.js';
import { ago, duration, h, href, kv, phaseBadge, showError, table } from '../dom.js';

// Fields of a step the task panel shows in its own rows; any other field (outputs,
// artifacts, metrics, as the executor adds them) is shown as it comes.
const STEP_FIELDS = new Set(['name', 'id', 'template', 'phase', 'startTime', 'completionTime', 'message', 'pod', 'cache',
  'outputParameters', 'outputArtifacts']);

// outputs renders a step's output parameters and artifacts (with a system.Metrics
// artifact's values), as the run executor records them for KFP 2.x tasks.
function outputs(s) {
  const params = s.outputParameters || [];
  const arts = s.outputArtifacts || [];
  return [
    params.length ? table(['Output', 'Value'], params.map((p) => [p.name, p.value]), { class: 'outputs' }) : null,
    arts.length ? table(['Artifact', 'Type', 'URI', 'Metrics'], arts.map((a) => [a.name, a.type || '', a.uri || '',
      (a.metrics || []).map((m) => `${m.name}=${m.value}`).join(', ')]), { class: 'artifacts' }) : null,
  ];
}

export async function render(root, { ns, name, query }) {
  let run = null;
  let graph = null;
  let selected = query.get('task') || '';
  let log = { task: '', phase: null, stream: null, live: false };
  let stopped = false;
  const head = h('div');
  const acts = h('div');
  const graphBox = h('div', { class: 'panel', id: 'graph' }, h('span', { class: 'muted' }, 'Loading…'));
  const taskBox = h('div', { class: 'panel', id: 'task' }, h('span', { class: 'muted' }, 'Select a task in the graph.'));
  const paramsBox = h('div', { class: 'panel', id: 'parameters' });
  const eventsBox = h('div', { class: 'panel', id: 'events' });
  const logBox = h('pre', { class: 'log', id: 'log' });
  root.append(head, acts, h('div', { class: 'columns' },
    h('div', {}, h('h2', {}, 'Graph'), graphBox, h('h2', {}, 'Parameters'), paramsBox, h('h2', {}, 'Events'), eventsBox),
    h('div', {}, h('h2', {}, 'Task'), taskBox, h('h2', {}, 'Log'), logBox)));

  const node = () => graph?.nodes.find((n) => n.id === selected);

  const drawTask = () => {
    const n = node();
    if (!n) return;
    taskBox.replaceChildren(h('div', {}, h('h3', {}, n.id, ' ', phaseBadge(n.phase)),
      (n.steps || []).length ? null : h('p', { class: 'muted' }, 'Not started.'),
      (n.steps || []).map((s) => h('div', { 'data-step': s.id || s.name }, kv([
        ['step', s.name], ['phase', s.phase], ['started', s.startTime], ['finished', s.completionTime],
        ['duration', duration(s.startTime, s.completionTime)], ['message', s.message], ['pod', s.pod], ['cache', s.cache],
        ...Object.entries(s).filter(([k]) => !STEP_FIELDS.has(k)).map(([k, v]) => [k, h('pre', {}, JSON.stringify(v, null, 2))]),
      ]), outputs(s)))));
  };

  // followLog streams the selected task's log; it starts again when the task's phase
  // changes after its stream ended (a step not started yet has no log).
  const followLog = () => {
    const n = node();
    if (!n) return;
    if (log.task === n.id && (log.live || log.phase === n.phase)) return;
    if (log.stream) log.stream.stop();
    const fresh = log.task !== n.id || !log.live;
    log = { task: n.id, phase: n.phase, stream: null, live: true };
    if (fresh) logBox.replaceChildren();
    const mine = log;
    mine.stream = stream(path(ns, 'runs', name, 'log'), { step: n.name, follow: true }, (line) => {
      logBox.append(line + '\n');
      logBox.scrollTop = logBox.scrollHeight;
    });
    mine.stream.done.catch((e) => {
      if (log === mine && e.code === 404) logBox.replaceChildren(h('span', { class: 'muted' }, 'No log yet.'));
      else if (log === mine) logBox.append(`[${e.message}]\n`);
    }).finally(() => {
      mine.live = false;
      // A task still running has more to say: its container may not have started, or
      // the connection dropped. Ask again in a while.
      if (log === mine && ['Pending', 'Running'].includes(node()?.phase)) {
        setTimeout(() => { if (log === mine && !stopped) { log.phase = null; followLog(); } }, 2000);
      }
    });
  };

  const select = (n) => {
    selected = n.id;
    drawGraph();
    drawTask();
    followLog();
  };
  const drawGraph = () => {
    if (graph) graphBox.replaceChildren(renderGraph(graph, { selected, onSelect: select }));
  };

  // Graph and events are fetched again after each change of the run, one fetch at a time.
  let busy = false; let again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const [g, ev] = await Promise.allSettled([
          ui(`/graph/namespaces/${encodeURIComponent(ns)}/runs/${encodeURIComponent(name)}`),
          get(`/api/v1/namespaces/${encodeURIComponent(ns)}/events`, { fieldSelector: `involvedObject.kind=Run,involvedObject.name=${name}` }),
        ]);
        if (g.status === 'fulfilled') { graph = g.value; drawGraph(); drawTask(); followLog(); }
        else graphBox.replaceChildren(h('span', { class: 'muted' }, g.reason.message));
        if (ev.status === 'fulfilled') drawEvents(ev.value.items || []);
        else eventsBox.replaceChildren(h('span', { class: 'muted' }, ev.reason.message));
      } while (again);
    } finally { busy = false; }
  };
  const drawEvents = (items) => {
    items.sort((a, b) => Date.parse(b.lastTimestamp || b.eventTime || 0) - Date.parse(a.lastTimestamp || a.eventTime || 0));
    eventsBox.replaceChildren(items.length
      ? table(['Type', 'Reason', 'Message', 'When'], items.map((e) => [e.type, e.reason, e.message, ago(e.lastTimestamp || e.eventTime)]))
      : h('span', { class: 'muted' }, 'No events.'));
  };

  const drawRun = async () => {
    const st = run.status || {};
    head.replaceChildren(
      h('h1', {}, name, phaseBadge(st.phase), st.storageState === 'Archived' ? h('span', { class: 'badge' }, 'Archived') : null),
      kv([
        ['experiment', h('a', { href: href('ns', ns, 'experiments', run.spec.experimentName) }, run.spec.experimentName)],
        ['pipeline', (run.spec.pipelineRef?.namespace ? run.spec.pipelineRef.namespace + '/' : '') + (run.spec.pipelineRef?.pipelineName || '')], ['version', st.pipelineVersion || run.spec.pipelineRef?.versionName],
        ['created', run.metadata.creationTimestamp], ['started', st.startTime], ['finished', st.completionTime],
        ['duration', duration(st.startTime, st.completionTime)], ['attempts', st.attempts], ['message', st.message],
      ]));
    paramsBox.replaceChildren((run.spec.parameters || []).length
      ? table(['Name', 'Value'], run.spec.parameters.map((p) => [p.name, p.value]))
      : h('span', { class: 'muted' }, 'No parameters.'));
    acts.replaceChildren(await buttons(ns, 'runs', run, (res, action) => {
      if (action === 'delete') location.hash = href('ns', ns, 'runs');
    }));
  };

  const w = watch(path(ns, 'runs'), { fieldSelector: `metadata.name=${name}` }, (items) => {
    if (!items.length) {
      head.replaceChildren(h('h1', {}, name), h('p', { class: 'muted' }, 'This run does not exist (or no longer does).'));
      acts.replaceChildren();
      return;
    }
    run = items[0];
    drawRun();
    refresh();
  }, showError);
  return () => { stopped = true; w.stop(); if (log.stream) log.stream.stop(); };
}
