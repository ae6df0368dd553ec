// The dashboard's addresses (hash routes, so the server serves one page) and
// going from one page to the next. Which page answers which address is the
// entry module's to say: this module knows no page, so pages can import it.
import { newContext } from './context.js';
import { $ } from './dom.js';
import { splitActor } from './format.js';
import { showMessage } from './messages.js';

const enc = encodeURIComponent;

export const href = {
  instances: () => '#/instances',
  instance: (id) => '#/instances/' + enc(id),
  actors: (kind) => '#/actors' + (kind ? '?kind=' + enc(kind) : ''),
  actor: (kind, key) => '#/actors/' + enc(kind) + '/' + enc(key),
  actorRef: (ref) => { const a = splitActor(ref); return href.actor(a.kind, a.key); },
  start: (orch) => '#/start' + (orch ? '?orchestration=' + enc(orch) : ''),
  components: () => '#/components',
};

let pageFor = null; // (segs, query) -> the page function; set by startRouter
let page = null;
let flash = null; // message to show once the next page is rendered

export function navigate(hash, message) {
  flash = message || null;
  if (location.hash === hash) route(); else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const segs = path.split('/').filter((s) => s !== '').map((s) => {
    try { return decodeURIComponent(s); } catch (e) { return s; }
  });
  return { segs, query };
}

export function setTitle(t) { document.title = t ? `${t} · Reprise` : 'Reprise'; }

export function route() {
  if (page) page.dispose();
  page = newContext();
  $('#messages').replaceChildren();
  $('#toasts').replaceChildren();
  if (flash) { showMessage('info', flash); flash = null; }
  const { segs, query } = parseHash();
  const section = segs[0] || 'instances';
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === section));
  const main = $('#main');
  main.replaceChildren();
  window.scrollTo(0, 0);
  pageFor(segs, query)(page, main);
}

// Routes the current address now and on every change; `pages(segs, query)`
// names the page function, called as page(ctx, main).
export function startRouter(pages) {
  pageFor = pages;
  window.addEventListener('hashchange', route);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/instances');
  route();
}
