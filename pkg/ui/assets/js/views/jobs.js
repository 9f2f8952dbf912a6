// The recurring runs (jobs) of a namespace: schedule, enabled, last and next run, active
// runs, kept current through a watch; enable, disable and delete where RBAC allows them.
import { path, watch } from '../api.js';
import { buttons } from '../actions.js';
import { ago, h, href, showError, table } from '../dom.js';

// schedule says when a job runs, as its spec says it.
export function schedule(s = {}) {
  const when = s.cron ? `cron ${s.cron}` : s.intervalSeconds ? `every ${s.intervalSeconds}s` : '';
  const window = [s.startTime && `from ${new Date(s.startTime).toLocaleString()}`, s.endTime && `until ${new Date(s.endTime).toLocaleString()}`];
  return [when, ...window].filter(Boolean).join(', ');
}

// when shows a time in the past or the future.
function when(ts) {
  if (!ts) return '';
  const s = Math.round((Date.parse(ts) - Date.now()) / 1000);
  return s <= 0 ? ago(ts) : s < 3600 ? `in ${Math.ceil(s / 60)}m` : new Date(ts).toLocaleString();
}

export async function render(root, { ns }) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, 'Recurring runs', h('span', { class: 'muted' }, ns)), body);
  let jobs = [];
  let drawn = 0;
  const draw = async () => {
    const gen = ++drawn;
    const rows = await Promise.all(jobs.map(async (j) => {
      const enabled = j.spec.enabled !== false;
      const active = j.status?.active || [];
      return h('tr', { 'data-job': j.metadata.name }, [
        h('td', {}, j.metadata.name),
        h('td', {}, h('a', { href: href('ns', ns, 'pipelines', j.spec.pipelineRef.pipelineName) }, j.spec.pipelineRef.pipelineName),
          j.spec.pipelineRef.versionName ? ` / ${j.spec.pipelineRef.versionName}` : ''),
        h('td', {}, h('a', { href: href('ns', ns, 'experiments', j.spec.experimentName) }, j.spec.experimentName)),
        h('td', {}, schedule(j.spec.schedule)),
        h('td', { 'data-enabled': String(enabled) }, enabled ? 'Enabled' : 'Disabled'),
        h('td', { title: j.status?.lastScheduleTime || '' }, when(j.status?.lastScheduleTime)),
        h('td', { title: j.status?.nextScheduleTime || '' }, enabled ? when(j.status?.nextScheduleTime) : ''),
        h('td', {}, active.length ? active.map((r, i) => [i ? ', ' : '', h('a', { href: href('ns', ns, 'runs', r) }, r)]) : '—'),
        h('td', {}, await buttons(ns, 'jobs', j, () => {})),
      ].map((td) => td));
    }));
    if (gen !== drawn) return;
    body.replaceChildren(...[
      table(['Name', 'Pipeline', 'Experiment', 'Schedule', 'Enabled', 'Last run', 'Next run', 'Active runs', ''], rows, { id: 'jobs' }),
      jobs.length ? null : h('p', { class: 'muted' }, 'No recurring runs.')].filter(Boolean));
  };
  // The watch redraws with the server's answer to an action, so buttons need no callback.
  const w = watch(path(ns, 'jobs'), {}, (items) => {
    jobs = items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    draw();
  }, showError);
  return () => w.stop();
}
