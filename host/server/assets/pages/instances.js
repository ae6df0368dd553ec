// The instances list: filters kept in the address, pages of 50 loaded on
// demand, rows on screen refreshed every 2 seconds.
import { api, apiPath, components } from '../api.js';
import { h, live } from '../dom.js';
import { ago, dateTime, STATUSES } from '../format.js';
import { href, setTitle } from '../router.js';
import { badge } from '../widgets.js';

const PAGE_SIZE = 50;

export function instancesPage(ctx, main, query) {
  setTitle('Instances');
  const f = {
    status: query.get('status') || '',
    name: query.get('name') || '',
    from: query.get('from') || '',
    to: query.get('to') || '',
  };

  const statusSel = h('select', { name: 'status', value: f.status },
    h('option', { value: '' }, 'All statuses'), STATUSES.map((s) => h('option', { value: s }, s)));
  const nameIn = h('input', { type: 'search', name: 'name', value: f.name, placeholder: 'Any orchestration', list: 'orch-names', autocomplete: 'off' });
  const names = h('datalist', { id: 'orch-names' });
  const fromIn = h('input', { type: 'datetime-local', name: 'from', value: f.from });
  const toIn = h('input', { type: 'datetime-local', name: 'to', value: f.to });
  const liveDot = h('span', { class: 'live-dot', title: 'Refreshed every 2 seconds while this tab is visible' });
  const liveText = h('span', { class: 'muted' }, '');

  const form = h('form', { class: 'filters card', onsubmit: (e) => { e.preventDefault(); apply(); } },
    h('label', {}, h('span', {}, 'Status'), statusSel),
    h('label', { class: 'grow' }, h('span', {}, 'Orchestration'), nameIn, names),
    h('label', {}, h('span', {}, 'Created from'), fromIn),
    h('label', {}, h('span', {}, 'Created to'), toIn),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'button', class: 'btn ghost', onclick: () => {
        statusSel.value = ''; nameIn.value = ''; fromIn.value = ''; toIn.value = ''; apply();
      } }, 'Clear')));
  [statusSel, fromIn, toIn, nameIn].forEach((el) => el.addEventListener('change', apply));

  const table = h('table', { class: 'list instances' },
    h('colgroup', {}, h('col', { class: 'c-id' }), h('col', { class: 'c-name' }), h('col', { class: 'c-status' }), h('col', { class: 'c-time' }), h('col', { class: 'c-time' })),
    h('thead', {}, h('tr', {}, h('th', {}, 'Instance'), h('th', {}, 'Orchestration'), h('th', {}, 'Status'), h('th', {}, 'Created'), h('th', {}, 'Updated'))));
  const empty = h('div', { class: 'empty', hidden: true });
  const moreBtn = h('button', { type: 'button', class: 'btn', hidden: true, onclick: loadMore }, 'Load more');

  main.append(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Instances'),
      h('div', { class: 'live' }, liveDot, liveText),
      h('a', { class: 'btn primary', href: href.start() }, 'Start instance')),
    form,
    h('div', { class: 'card table-card' }, table, empty),
    h('div', { class: 'more' }, moreBtn));

  components().then((cs) => {
    const seen = new Set();
    for (const c of cs) for (const o of c.orchestrations || []) {
      if (!seen.has(o)) { seen.add(o); names.appendChild(h('option', { value: o })); }
    }
  }).catch(() => { /* suggestions only */ });

  // The list is made of chunks, one per server page: {cursor, rows, next, tbody}.
  let chunks = [];
  let generation = 0; // bumps when filters change, so stale answers are dropped
  const rowCache = new Map(); // id -> {key, tr}: reuse unchanged rows on refresh

  function currentQuery() {
    const toMs = (v) => { if (!v) return undefined; const t = new Date(v).getTime(); return isNaN(t) ? undefined : t; };
    return { status: f.status, name: f.name, created_after: toMs(f.from), created_before: toMs(f.to) };
  }

  function apply() {
    f.status = statusSel.value; f.name = nameIn.value.trim(); f.from = fromIn.value; f.to = toIn.value;
    const q = new URLSearchParams();
    for (const k of ['status', 'name', 'from', 'to']) if (f[k]) q.set(k, f[k]);
    const s = q.toString();
    // Keep the filters in the address (back button, sharing) without re-routing.
    history.replaceState(null, '', '#/instances' + (s ? '?' + s : ''));
    reset();
  }

  function reset() {
    generation++;
    chunks.forEach((c) => c.tbody.remove());
    chunks = [];
    loadChunk(null);
  }

  async function loadChunk(cursor) {
    const gen = generation;
    moreBtn.disabled = true;
    const r = await ctx.guard(api('GET', apiPath.instances, { query: Object.assign(currentQuery(), { limit: PAGE_SIZE, cursor }), signal: ctx.signal }));
    moreBtn.disabled = false;
    if (!r || gen !== generation) return;
    const chunk = { cursor, rows: r.data.instances || [], next: r.data.next_cursor || null, tbody: h('tbody') };
    chunks.push(chunk);
    table.appendChild(chunk.tbody);
    render();
    stamp();
  }

  function loadMore() {
    const last = chunks[chunks.length - 1];
    if (last && last.next) loadChunk(last.next);
  }

  // Re-fetch one chunk and merge it, keeping the boundaries with the next one.
  async function refreshChunk(i, gen) {
    const c = chunks[i];
    const succ = chunks[i + 1];
    const limit = succ ? PAGE_SIZE + 25 : Math.max(PAGE_SIZE, Math.min(c.rows.length, 200));
    const r = await api('GET', apiPath.instances, { query: Object.assign(currentQuery(), { limit, cursor: c.cursor }), signal: ctx.signal });
    if (gen !== generation || chunks[i] !== c) return;
    let rows = r.data.instances || [];
    if (succ) {
      // Stop where the next chunk begins; if the window ended before that,
      // keep the older rows we had (they are not re-checked this time).
      const succIds = new Set(succ.rows.map((x) => x.id));
      const cut = rows.findIndex((x) => succIds.has(x.id));
      if (cut >= 0) rows = rows.slice(0, cut);
      else if (r.data.next_cursor) {
        const got = new Set(rows.map((x) => x.id));
        const last = rows.length ? rows[rows.length - 1].id : null;
        const from = last === null ? 0 : c.rows.findIndex((x) => x.id === last) + 1;
        rows = rows.concat(c.rows.slice(from).filter((x) => !got.has(x.id)));
      }
    } else {
      c.next = r.data.next_cursor || null;
    }
    c.rows = rows;
  }

  async function refresh() {
    const gen = generation;
    if (!chunks.length) return;
    // Only the chunks on screen: a long scrolled list stays cheap.
    const vh = window.innerHeight;
    const visible = [];
    chunks.forEach((c, i) => {
      const r = c.tbody.getBoundingClientRect();
      if (r.bottom >= -200 && r.top <= vh + 200) visible.push(i);
    });
    if (!visible.length) visible.push(0);
    for (const i of visible.slice(0, 3)) await refreshChunk(i, gen);
    if (gen === generation) { render(); stamp(); }
  }

  function stamp() {
    liveText.textContent = `updated ${dateTime(Date.now()).slice(11)}`;
  }

  function render() {
    const seen = new Set(); // a row shown in an earlier chunk is not repeated
    let total = 0;
    for (const c of chunks) {
      const trs = [];
      for (const inst of c.rows) {
        if (seen.has(inst.id)) continue;
        seen.add(inst.id);
        trs.push(instanceRow(inst));
      }
      total += trs.length;
      c.tbody.replaceChildren(...trs);
    }
    for (const id of rowCache.keys()) if (!seen.has(id)) rowCache.delete(id);
    const last = chunks[chunks.length - 1];
    moreBtn.hidden = !(last && last.next);
    empty.hidden = total > 0;
    const filtered = f.status || f.name || f.from || f.to;
    empty.replaceChildren(filtered
      ? h('p', {}, 'No instance matches these filters.')
      : h('p', {}, 'No instances yet. ', h('a', { href: href.start() }, 'Start one'), '.'));
  }

  function instanceRow(inst) {
    const key = `${inst.status}|${inst.updated_at}|${inst.name}`;
    const cached = rowCache.get(inst.id);
    if (cached && cached.key === key) return cached.tr;
    const link = href.instance(inst.id);
    const tr = h('tr', { class: 'row-link' },
      h('td', { class: 'id' }, h('a', { href: link, class: 'mono', title: inst.id }, inst.id)),
      h('td', { class: 'name' }, inst.name ?? ''),
      h('td', {}, badge(inst.status)),
      timeCell(inst.created_at),
      timeCell(inst.updated_at));
    tr.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      if (String(window.getSelection() || '')) return; // selecting text is not a click
      location.hash = link;
    });
    rowCache.set(inst.id, { key, tr });
    return tr;
  }

  loadChunk(null);
  ctx.every(2000, refresh);
}

function timeCell(ms) {
  return h('td', { class: 'time', title: typeof ms === 'number' ? new Date(ms).toString() : '' },
    h('span', { class: 'abs' }, dateTime(ms)), ' ',
    live(h('span', { class: 'rel' }), (now) => ago(ms, now)));
}
