// The actors of one kind, with their state.
import { api, apiPath, components } from '../api.js';
import { add, h } from '../dom.js';
import { compact, truncate } from '../format.js';
import { href, navigate, setTitle } from '../router.js';

export function actorsPage(ctx, main, query) {
  setTitle('Actors');
  const kind = query.get('kind') || '';
  const kindIn = h('input', { type: 'text', value: kind, placeholder: 'account', list: 'actor-kinds', class: 'mono', autocomplete: 'off', required: true });
  const kinds = h('datalist', { id: 'actor-kinds' });
  const keyIn = h('input', { type: 'text', placeholder: 'key (optional)', class: 'mono', autocomplete: 'off' });
  const chips = h('div', { class: 'chips' });
  const results = h('div');

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Actors')),
    h('form', { class: 'filters card', onsubmit: (e) => {
      e.preventDefault();
      const k = kindIn.value.trim();
      if (!k) return;
      const key = keyIn.value;
      if (key) navigate(href.actor(k, key)); else navigate(href.actors(k));
    } },
    h('label', {}, h('span', {}, 'Kind'), kindIn, kinds),
    h('label', { class: 'grow' }, h('span', {}, 'Open one key'), keyIn),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn primary' }, 'Show'))),
    chips, results);

  components().then((cs) => {
    const all = [...new Set(cs.flatMap((c) => c.actors || []))];
    all.forEach((a) => kinds.appendChild(h('option', { value: a })));
    if (all.length) add(chips, [h('span', { class: 'muted' }, 'Known kinds:'), all.map((a) =>
      h('a', { class: a === kind ? 'chip active' : 'chip', href: href.actors(a) }, a))]);
  }).catch(() => { /* suggestions only */ });

  if (!kind) {
    results.append(h('section', { class: 'card empty' }, h('p', {}, 'Choose an actor kind to list its actors.')));
    return;
  }
  const load = async () => {
    const r = await ctx.guard(api('GET', apiPath.actors(kind), { query: { limit: 100 }, signal: ctx.signal }));
    if (!r) return;
    const actors = (r.data && r.data.actors) || [];
    const rows = actors.map((a) => {
      const link = href.actor(a.kind ?? kind, a.key);
      const tr = h('tr', { class: 'row-link' },
        h('td', { class: 'id' }, h('a', { class: 'mono', href: link, title: String(a.key) }, String(a.key))),
        h('td', { class: 'state' }, a.state === null || a.state === undefined
          ? h('span', { class: 'muted' }, 'no state')
          : h('code', { class: 'json', title: truncate(compact(a.state), 2000) }, truncate(compact(a.state), 300))));
      tr.addEventListener('click', (e) => { if (!e.target.closest('a') && !String(window.getSelection() || '')) location.hash = link; });
      return tr;
    });
    results.replaceChildren(
      h('div', { class: 'card table-card' },
        h('div', { class: 'card-title pad' }, h('h2', {}, h('span', { class: 'mono' }, kind)),
          h('span', { class: 'muted' }, actors.length >= 100 ? 'first 100 actors' : `${actors.length} actor${actors.length === 1 ? '' : 's'}`),
          h('button', { type: 'button', class: 'btn small ghost', onclick: load }, 'Refresh')),
        rows.length ? h('table', { class: 'list actors' },
          h('colgroup', {}, h('col', { class: 'c-key' }), h('col')),
          h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'State'))), h('tbody', {}, rows))
          : h('div', { class: 'empty' }, h('p', {}, 'No actor of this kind has state yet.'))));
  };
  load();
}
