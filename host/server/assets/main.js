// Reprise dashboard: plain DOM, no framework, no build step; ES modules by
// concern, this one the entry. Rule for every module: data that comes from
// the API (ids, names, inputs, outputs, failures, actor keys...) only ever
// reaches the page through textContent or setAttribute, never through an
// HTML parser.
import { h } from './dom.js';
import { actorPage } from './pages/actor.js';
import { actorsPage } from './pages/actors.js';
import { componentsPage } from './pages/components.js';
import { instancePage } from './pages/instance.js';
import { instancesPage } from './pages/instances.js';
import { startPage } from './pages/start.js';
import { href, route, setTitle, startRouter } from './router.js';
import { setupToken } from './token.js';

// Which page answers an address: #/instances[/id], #/actors[/kind/key],
// #/components, #/start.
function pageFor(segs, query) {
  const section = segs[0] || 'instances';
  if (section === 'instances' && segs.length >= 2) return (ctx, main) => instancePage(ctx, main, segs.slice(1).join('/'));
  if (section === 'instances') return (ctx, main) => instancesPage(ctx, main, query);
  if (section === 'actors' && segs.length >= 3) return (ctx, main) => actorPage(ctx, main, segs[1], segs.slice(2).join('/'));
  if (section === 'actors') return (ctx, main) => actorsPage(ctx, main, query);
  if (section === 'components') return (ctx, main) => componentsPage(ctx, main);
  if (section === 'start') return (ctx, main) => startPage(ctx, main, query);
  return (ctx, main) => notFoundPage(main);
}

function notFoundPage(main) {
  setTitle('Not found');
  main.append(h('section', { class: 'card empty' }, h('h2', {}, 'Nothing here'),
    h('p', {}, h('a', { href: href.instances() }, 'Go to the instances'))));
}

// A module runs once the document is parsed: the page's elements exist.
setupToken(route);
startRouter(pageFor);
