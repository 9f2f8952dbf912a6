// The app's views: a route pattern (":name" parts become params) and the module that
// renders it. To add a view, add a module under views/ and one line here (see docs/ui.md).
export const routes = [
  { pattern: '/', view: () => import('./views/namespaces.js') },
  { pattern: '/ns/:ns/experiments', view: () => import('./views/experiments.js') },
  { pattern: '/ns/:ns/experiments/:experiment', view: () => import('./views/runs.js') },
  { pattern: '/ns/:ns/runs', view: () => import('./views/runs.js') },
  { pattern: '/ns/:ns/runs/:name', view: () => import('./views/run.js') },
  { pattern: '/ns/:ns/pipelines', view: () => import('./views/pipelines.js') },
  { pattern: '/ns/:ns/pipelines/:name', view: () => import('./views/pipeline.js') },
  { pattern: '/ns/:ns/pipelines/:pipeline/versions/:version/run', view: () => import('./views/createrun.js') },
  { pattern: '/ns/:ns/jobs', view: () => import('./views/jobs.js') },
  { pattern: '/ns/:ns/compare', view: () => import('./views/compare.js') },
];

// The links in the header, per namespace.
export const nav = [
  { title: 'Runs', path: (ns) => `/ns/${ns}/runs` },
  { title: 'Experiments', path: (ns) => `/ns/${ns}/experiments` },
  { title: 'Pipelines', path: (ns) => `/ns/${ns}/pipelines` },
  { title: 'Recurring runs', path: (ns) => `/ns/${ns}/jobs` },
  { title: 'Compare', path: (ns) => `/ns/${ns}/compare` },
];
