// The app's views: a route pattern (":name" parts become params) and the module that
// renders it. To add a view, add a module under views/ and one line here (see docs/ui.md).
export const routes = [
  { pattern: '/', view: () => import('./views/namespaces.js') },
  { pattern: '/ns/:ns/experiments', view: () => import('./views/experiments.js') },
  { pattern: '/ns/:ns/experiments/:experiment', view: () => import('./views/runs.js') },
  { pattern: '/ns/:ns/runs', view: () => import('./views/runs.js') },
  { pattern: '/ns/:ns/runs/:name', view: () => import('./views/run.js') },
];

// The links in the header, per namespace.
export const nav = [
  { title: 'Runs', path: (ns) => `/ns/${ns}/runs` },
  { title: 'Experiments', path: (ns) => `/ns/${ns}/experiments` },
];
