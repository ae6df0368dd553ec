'use strict';
// Reprise dashboard: plain DOM, no framework, no build step.
// Rule for everything below: data that comes from the API (ids, names, inputs,
// outputs, failures, actor keys...) only ever reaches the page through
// textContent or setAttribute, never through an HTML parser.
(function () {

  // ---------------------------------------------------------------- DOM helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const enc = encodeURIComponent;

  // Keys that must be set as properties (after children exist, so that a
  // <select>'s value can pick one of its options).
  const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'open', 'hidden', 'required']);

  // h('a', {href, class}, 'text', child, [more children]) -> element.
  // Strings become text nodes; attributes go through setAttribute.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    const props = [];
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'style') Object.assign(el.style, v); // CSSOM: allowed by the CSP
        else if (PROPS.has(k)) props.push([k, v]);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    add(el, children);
    for (const [k, v] of props) el[k] = v;
    return el;
  }

  function add(el, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false || c === true) continue;
      if (Array.isArray(c)) add(el, c);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // Replace a container's content, keeping <details data-key> that were open
  // (a refresh must not fold what the user unfolded).
  function replaceKeepingOpen(container, ...children) {
    const open = new Set();
    container.querySelectorAll('details[data-key]').forEach((d) => { if (d.open) open.add(d.dataset.key); });
    container.replaceChildren();
    add(container, children);
    if (open.size) container.querySelectorAll('details[data-key]').forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
  }

  // Elements whose text depends on the clock ("3 min ago", "since 4 s").
  // One global ticker updates them; detached elements are forgotten.
  const liveEls = new Set();
  function live(el, fn) {
    el.textContent = fn(Date.now());
    liveEls.add({ el, fn, born: Date.now(), seen: false });
    return el;
  }
  setInterval(() => {
    if (document.hidden) return;
    const now = Date.now();
    for (const item of liveEls) {
      if (item.el.isConnected) { item.seen = true; item.el.textContent = item.fn(now); }
      else if (item.seen || now - item.born > 10000) liveEls.delete(item);
    }
  }, 1000);

  // ---------------------------------------------------------------- formatting

  const pad = (n, w = 2) => String(n).padStart(w, '0');

  function dateTime(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  // Two units at most: "850 ms", "4.2 s", "42 s", "3 min 12 s", "2 h 5 min", "3 d 4 h".
  function duration(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '—';
    ms = Math.max(0, ms);
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
    const hr = Math.floor(m / 60);
    if (hr < 24) return m % 60 ? `${hr} h ${m % 60} min` : `${hr} h`;
    const d = Math.floor(hr / 24);
    return hr % 24 ? `${d} d ${hr % 24} h` : `${d} d`;
  }

  // Whole seconds, for counters that tick every second.
  function elapsed(ms) {
    if (ms < 1000) return '<1 s';
    return ms < 10000 ? `${Math.floor(ms / 1000)} s` : duration(ms);
  }

  // One unit: "just now", "12 s ago", "3 min ago", "in 5 min".
  function ago(ms, now) {
    if (typeof ms !== 'number') return '';
    const d = now - ms;
    const abs = Math.abs(d);
    let unit;
    if (abs < 5000) return d >= 0 ? 'just now' : 'in a moment';
    if (abs < 60000) unit = `${Math.floor(abs / 1000)} s`;
    else if (abs < 3600000) unit = `${Math.floor(abs / 60000)} min`;
    else if (abs < 86400000) unit = `${Math.floor(abs / 3600000)} h`;
    else unit = `${Math.floor(abs / 86400000)} d`;
    return d >= 0 ? `${unit} ago` : `in ${unit}`;
  }

  // Offset from the start of an instance: "+0 ms", "+1.25 s", "+3 min 2 s".
  function offset(ms) {
    if (ms < 1000) return `+${Math.max(0, Math.round(ms))} ms`;
    if (ms < 60000) return `+${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return '+' + duration(ms);
  }

  function compact(v) {
    if (v === undefined) return '';
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }
  function pretty(v) {
    try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
  }
  const truncate = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

  function shortDigest(d) {
    if (!d) return '—';
    const i = d.indexOf(':');
    return i >= 0 ? d.slice(0, i + 1) + d.slice(i + 1, i + 13) : d.slice(0, 12);
  }

  const STATUSES = ['running', 'suspended', 'completed', 'failed', 'terminated'];
  const isFinished = (s) => s === 'completed' || s === 'failed' || s === 'terminated';

  function badge(status) {
    const known = STATUSES.includes(status) ? status : 'unknown';
    return h('span', { class: `badge s-${known}` }, String(status ?? 'unknown'));
  }

  // "kind/key": the kind never contains a slash, the key may.
  function splitActor(ref) {
    const s = String(ref ?? '');
    const i = s.indexOf('/');
    return i < 0 ? { kind: s, key: '' } : { kind: s.slice(0, i), key: s.slice(i + 1) };
  }

  // A JSON value: short ones inline, long ones folded (<details>) with the
  // pretty form inside.
  function jsonInline(value, key, max = 100) {
    if (value === undefined) return h('span', { class: 'muted' }, '—');
    const c = compact(value);
    if (c.length <= max) return h('code', { class: 'json' }, c);
    return h('details', { class: 'json-fold', 'data-key': key },
      h('summary', {}, h('code', { class: 'json' }, truncate(c, max))),
      h('pre', { class: 'json' }, pretty(value)));
  }

  const jsonBlock = (value) => (value === undefined
    ? h('p', { class: 'muted' }, 'No value.')
    : h('pre', { class: 'json block' }, pretty(value)));

  // Parse a JSON textarea; empty means null. Returns {ok, value} or {ok:false, error}.
  function parseJsonField(text) {
    const t = text.trim();
    if (!t) return { ok: true, value: null };
    try { return { ok: true, value: JSON.parse(t) }; } catch (e) { return { ok: false, error: e.message }; }
  }

  // A JSON textarea with its own validation message under it.
  function jsonField(name, placeholder, rows = 5) {
    const ta = h('textarea', { class: 'mono', name, rows, spellcheck: 'false', placeholder });
    const msg = h('div', { class: 'field-error', hidden: true });
    const check = () => {
      const r = parseJsonField(ta.value);
      msg.hidden = r.ok;
      msg.textContent = r.ok ? '' : `Not valid JSON: ${r.error}`;
      ta.classList.toggle('invalid', !r.ok);
      return r;
    };
    ta.addEventListener('input', () => { if (!msg.hidden) check(); });
    ta.addEventListener('blur', check);
    return { ta, msg, check, el: [ta, msg] };
  }

  function failureView(f, keyPrefix) {
    if (!f || typeof f !== 'object') return h('p', { class: 'failure-msg' }, String(f ?? ''));
    const d = f.details;
    const parts = [h('p', { class: 'failure-msg' }, f.message != null ? String(f.message) : '(no message)')];
    if (d !== undefined && d !== null && typeof d === 'object' && !Array.isArray(d)) {
      const rest = Object.assign({}, d);
      delete rest.backtrace; delete rest.stderr; delete rest.trap;
      if (d.trap != null) parts.push(h('p', { class: 'failure-trap' }, h('span', { class: 'label' }, 'Trap'), ' ',
        h('code', {}, typeof d.trap === 'string' ? d.trap : compact(d.trap))));
      if (Array.isArray(d.backtrace) && d.backtrace.length) {
        parts.push(h('details', { class: 'fold', open: d.backtrace.length <= 12, 'data-key': keyPrefix + ':bt' },
          h('summary', {}, `Backtrace (${d.backtrace.length} frames)`),
          h('ol', { class: 'backtrace' }, d.backtrace.map((fr) => h('li', {}, typeof fr === 'string' ? fr : compact(fr))))));
      }
      if (d.stderr != null && d.stderr !== '') {
        parts.push(h('details', { class: 'fold', open: true, 'data-key': keyPrefix + ':stderr' },
          h('summary', {}, 'Stderr'), h('pre', { class: 'stderr' }, String(d.stderr))));
      }
      if (Object.keys(rest).length) {
        parts.push(h('details', { class: 'fold', 'data-key': keyPrefix + ':details' },
          h('summary', {}, 'Details'), jsonBlock(rest)));
      }
    } else if (d !== undefined && d !== null) {
      parts.push(h('details', { class: 'fold', 'data-key': keyPrefix + ':details' }, h('summary', {}, 'Details'), jsonBlock(d)));
    }
    return h('div', { class: 'failure' }, parts);
  }

  // ---------------------------------------------------------------- routes

  const href = {
    instances: () => '#/instances',
    instance: (id) => '#/instances/' + enc(id),
    actors: (kind) => '#/actors' + (kind ? '?kind=' + enc(kind) : ''),
    actor: (kind, key) => '#/actors/' + enc(kind) + '/' + enc(key),
    actorRef: (ref) => { const a = splitActor(ref); return href.actor(a.kind, a.key); },
    start: (orch) => '#/start' + (orch ? '?orchestration=' + enc(orch) : ''),
  };

  const apiPath = {
    instances: '/api/instances',
    instance: (id) => '/api/instances/' + enc(id),
    history: (id) => apiPath.instance(id) + '/history',
    waiting: (id) => apiPath.instance(id) + '/waiting',
    event: (id, name) => apiPath.instance(id) + '/events/' + enc(name),
    action: (id, what) => apiPath.instance(id) + '/' + what,
    actors: (kind) => '/api/actors/' + enc(kind),
    actor: (kind, key) => '/api/actors/' + enc(kind) + '/' + enc(key),
  };

  // ---------------------------------------------------------------- messages

  const messages = () => $('#messages');

  // Errors stay in the bar above the page until dismissed; confirmations are
  // short toasts that do not push the page down.
  function showMessage(kind, text, sticky = kind === 'error') {
    const box = kind === 'error' ? messages() : $('#toasts');
    // The same error from a poller every 2 s must not pile up.
    for (const m of box.children) {
      if (m.dataset.text === text) return;
    }
    const el = h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      h('span', { class: 'msg-text' }, text),
      h('button', { class: 'msg-close', type: 'button', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
    el.dataset.text = text;
    box.appendChild(el);
    if (!sticky) setTimeout(() => el.remove(), 4000);
  }

  const isAbort = (e) => e && e.name === 'AbortError';

  function reportError(e) {
    if (isAbort(e)) return;
    if (e instanceof ApiError) {
      showMessage('error', e.status ? `${e.message} (${e.status} ${e.code})` : e.message);
    } else {
      console.error(e);
      showMessage('error', String(e && e.message ? e.message : e));
    }
  }

  // ---------------------------------------------------------------- token

  const TOKEN_KEY = 'reprise.apiToken';
  const token = {
    get() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } },
    set(v) { try { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ } },
    ask() {
      const bar = $('#token-bar');
      if (bar.hidden) {
        bar.hidden = false;
        $('#token-input').focus();
      }
    },
  };

  function setupToken() {
    const bar = $('#token-bar');
    const input = $('#token-input');
    const forget = $('#token-forget');
    const sync = () => { forget.hidden = !token.get(); };
    bar.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) { input.focus(); return; }
      token.set(v);
      input.value = '';
      bar.hidden = true;
      sync();
      route();
    });
    forget.addEventListener('click', () => { token.set(''); sync(); route(); });
    sync();
  }

  // ---------------------------------------------------------------- API client

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  // api('GET', path, {query, body, signal}) -> {status, data}. Throws ApiError
  // carrying the server's {"error":{...}} fields.
  async function api(method, path, opts = {}) {
    let url = path;
    if (opts.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
      const s = qs.toString();
      if (s) url += '?' + s;
    }
    const headers = { Accept: 'application/json' };
    const t = token.get();
    if (t) headers.Authorization = 'Bearer ' + t;
    const init = { method, headers, signal: opts.signal, cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    }
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    if (!res.ok) {
      const err = data && typeof data.error === 'object' && data.error ? data.error : {};
      const message = typeof err.message === 'string' && err.message ? err.message
        : (text && !data ? truncate(text.trim(), 300) : `HTTP ${res.status} ${res.statusText}`.trim());
      if (res.status === 401) token.ask();
      throw new ApiError(res.status, err.code || `http_${res.status}`, message, err.details);
    }
    return { status: res.status, data, headers: res.headers };
  }

  // The component list changes rarely: ask once per page load.
  let componentsPromise = null;
  function components() {
    if (!componentsPromise) {
      componentsPromise = api('GET', '/api/components')
        .then((r) => (r.data && Array.isArray(r.data.components) ? r.data.components : []))
        .catch((e) => { componentsPromise = null; throw e; });
    }
    return componentsPromise;
  }

  // ---------------------------------------------------------------- page context

  // Each rendered page gets a context; leaving the page aborts its requests
  // and stops its timers.
  function newContext() {
    const ctrl = new AbortController();
    const ctx = {
      alive: true,
      signal: ctrl.signal,
      cleanups: [],
      dispose() { ctx.alive = false; ctrl.abort(); ctx.cleanups.forEach((f) => f()); },
      // Run fn every ms while the tab is visible, never two at once.
      every(ms, fn) {
        let timer = null;
        let running = false;
        const run = async () => {
          if (!ctx.alive || running || document.hidden) return;
          running = true;
          try { await fn(); } catch (e) { if (ctx.alive) reportError(e); }
          running = false;
        };
        const loop = () => { timer = setTimeout(async () => { await run(); if (ctx.alive) loop(); }, ms); };
        const onVis = () => { if (!document.hidden) run(); };
        document.addEventListener('visibilitychange', onVis);
        ctx.cleanups.push(() => { clearTimeout(timer); document.removeEventListener('visibilitychange', onVis); });
        loop();
      },
      sleep(ms) {
        return new Promise((resolve) => {
          const t = setTimeout(resolve, ms);
          ctrl.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
        });
      },
      // Await a request, swallowing errors of a page already left.
      async guard(promise) {
        try { return await promise; } catch (e) { if (ctx.alive) reportError(e); return null; }
      },
    };
    return ctx;
  }

  let page = null;
  let flash = null; // message to show once the next page is rendered

  function navigate(hash, message) {
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

  function setTitle(t) { document.title = t ? `${t} · Reprise` : 'Reprise'; }

  function route() {
    if (page) page.dispose();
    page = newContext();
    messages().replaceChildren();
    $('#toasts').replaceChildren();
    if (flash) { showMessage('info', flash); flash = null; }
    const { segs, query } = parseHash();
    const section = segs[0] || 'instances';
    document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === section));
    const main = $('#main');
    main.replaceChildren();
    window.scrollTo(0, 0);
    if (section === 'instances' && segs.length >= 2) instancePage(page, main, segs.slice(1).join('/'));
    else if (section === 'instances') instancesPage(page, main, query);
    else if (section === 'actors' && segs.length >= 3) actorPage(page, main, segs[1], segs.slice(2).join('/'));
    else if (section === 'actors') actorsPage(page, main, query);
    else if (section === 'start') startPage(page, main, query);
    else notFoundPage(main);
  }

  function notFoundPage(main) {
    setTitle('Not found');
    main.append(h('section', { class: 'card empty' }, h('h2', {}, 'Nothing here'),
      h('p', {}, h('a', { href: href.instances() }, 'Go to the instances'))));
  }

  // ---------------------------------------------------------------- Instances list

  const PAGE_SIZE = 50;

  function instancesPage(ctx, main, query) {
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

  // ---------------------------------------------------------------- Instance page

  function instancePage(ctx, main, id) {
    setTitle(`Instance ${id}`);
    const head = h('section', { class: 'card inst-head' }, h('h1', { class: 'mono id-title' }, id));
    const waitingBox = h('section', { class: 'card waiting', hidden: true });
    const failureBox = h('section', { class: 'card failure-card', hidden: true });
    const dataBox = h('div', { class: 'data-grid' });
    const timelineBox = h('section', { class: 'card timeline' }, h('h2', {}, 'Timeline'), h('p', { class: 'muted' }, 'Loading…'));
    const actions = instanceActions(ctx, id, {
      instance: (inst) => { setInstance(inst); loadHistory(); },
      purged: () => navigate(href.instances(), `Instance ${id} purged.`),
    });

    main.append(h('p', { class: 'crumbs' }, h('a', { href: href.instances() }, '← Instances')),
      head, waitingBox, failureBox, dataBox, timelineBox, actions.raiseCard);

    const st = { inst: null, instKey: '', events: null, histKey: '', waitKey: '', timeline: null };

    function setInstance(inst) {
      const key = compact(inst);
      if (key === st.instKey) return false;
      st.inst = inst;
      st.instKey = key;
      setTitle(`${inst.name || 'Instance'} ${inst.id}`);
      renderHead(head, inst, actions);
      renderData(dataBox, failureBox, inst);
      actions.update(inst);
      if (isFinished(inst.status)) waitingBox.hidden = true;
      if (st.events) renderHistory();
      return true;
    }

    async function loadHistory() {
      const r = await ctx.guard(api('GET', apiPath.history(id), { signal: ctx.signal }));
      if (!r) return;
      st.events = Array.isArray(r.data.events) ? r.data.events : [];
      renderHistory();
    }

    function renderHistory() {
      // History only grows; re-render when it grew or the status changed.
      const key = `${st.events.length}|${st.inst.status}`;
      if (key === st.histKey) return;
      st.histKey = key;
      st.timeline = renderTimeline(timelineBox, st.events, st.inst);
    }

    async function loadWaiting() {
      let r;
      try {
        r = await api('GET', apiPath.waiting(id), { signal: ctx.signal });
      } catch (e) {
        // A server without the "waiting for" route: no panel, and no way to
        // tell progress from none, so the caller reloads every time.
        if (e instanceof ApiError && e.code === 'no_route') { waitingBox.hidden = true; return true; }
        throw e;
      }
      const w = r.data || {};
      const key = compact(w);
      if (key === st.waitKey) return false;
      st.waitKey = key;
      if (!isFinished(st.inst.status)) renderWaiting(waitingBox, w, st.inst, actions);
      return true;
    }

    // Every 2 s while not finished: "Waiting for" changes mean progress, so
    // pick up the instance (custom status, suspension) and its history too.
    async function tick() {
      if (!st.inst || isFinished(st.inst.status)) return;
      const changed = await loadWaiting();
      if (changed) {
        const [ri] = await Promise.all([api('GET', apiPath.instance(id), { signal: ctx.signal }), loadHistory()]);
        setInstance(ri.data);
      }
      if (st.timeline) st.timeline.updateBars(Date.now());
    }

    // Long poll: the server answers when the instance finishes or after wait_ms.
    async function longPoll() {
      while (ctx.alive && st.inst && !isFinished(st.inst.status)) {
        const t0 = Date.now();
        try {
          const r = await api('GET', apiPath.instance(id), { query: { wait_ms: 25000 }, signal: ctx.signal });
          const finished = isFinished(r.data.status);
          if (setInstance(r.data) || finished) await loadHistory();
          // A server that answers at once must not turn this into a busy loop.
          if (!finished && Date.now() - t0 < 1000) await ctx.sleep(2000);
        } catch (e) {
          if (!ctx.alive || isAbort(e)) return;
          reportError(e);
          await ctx.sleep(5000);
        }
      }
    }

    (async () => {
      let r;
      try {
        r = await api('GET', apiPath.instance(id), { signal: ctx.signal });
      } catch (e) {
        if (!ctx.alive || isAbort(e)) return;
        if (e.status === 404) {
          main.replaceChildren(h('p', { class: 'crumbs' }, h('a', { href: href.instances() }, '← Instances')),
            h('section', { class: 'card empty' }, h('h2', {}, 'Instance not found'),
              h('p', {}, 'There is no instance ', h('code', {}, id), ' (it may have been purged).')));
        } else reportError(e);
        return;
      }
      setInstance(r.data);
      if (isFinished(r.data.status)) { await loadHistory(); return; }
      await Promise.all([loadHistory(), ctx.guard(loadWaiting())]);
      ctx.every(2000, tick);
      longPoll();
    })();
  }

  function renderHead(head, inst, actions) {
    const meta = (label, ...value) => h('div', { class: 'meta-item' }, h('dt', {}, label), h('dd', {}, value));
    const fin = isFinished(inst.status);
    const items = [
      meta('Orchestration', h('span', { class: 'strong' }, inst.name ?? '—'), ' ',
        h('a', { class: 'subtle-link', href: href.start(inst.name), title: 'Start another instance of this orchestration' }, 'start another')),
      meta('Created', dateTime(inst.created_at), ' ', live(h('span', { class: 'rel' }), (now) => ago(inst.created_at, now))),
      meta('Updated', dateTime(inst.updated_at), ' ', live(h('span', { class: 'rel' }), (now) => ago(inst.updated_at, now))),
      meta(fin ? 'Took' : (inst.status === 'suspended' ? 'Age' : 'Running for'), fin ? duration(inst.updated_at - inst.created_at)
        : live(h('span'), (now) => elapsed(now - inst.created_at))),
      meta('Component', h('code', { class: 'mono', title: inst.digest || '' }, shortDigest(inst.digest))),
    ];
    if (inst.execution) items.push(meta('Execution', String(inst.execution), h('span', { class: 'rel' }, ' (continued as new)')));
    if (inst.parent && inst.parent.instance_id != null) {
      items.push(meta('Parent', h('a', { class: 'mono', href: href.instance(inst.parent.instance_id) }, String(inst.parent.instance_id)),
        inst.parent.task != null ? h('span', { class: 'rel' }, ` task #${inst.parent.task}`) : null));
    }
    head.replaceChildren(
      h('div', { class: 'head-row' },
        h('div', { class: 'head-title' },
          h('div', { class: 'eyebrow' }, 'Instance'),
          h('h1', { class: 'mono id-title' }, inst.id),
          badge(inst.status)),
        actions.buttons),
      actions.terminateForm,
      h('dl', { class: 'meta' }, items));
  }

  function renderData(dataBox, failureBox, inst) {
    const card = (title, body, key) => h('section', { class: 'card data' }, h('h2', {}, title), body);
    const cards = [card('Input', jsonBlock(inst.input))];
    if (inst.status === 'completed') cards.push(card('Output', jsonBlock(inst.output)));
    if (inst.status === 'terminated') {
      const reason = inst.output !== undefined ? inst.output : (inst.failure ? inst.failure.message : undefined);
      cards.push(card('Termination reason', reason === undefined || reason === null
        ? h('p', { class: 'muted' }, 'No reason given.')
        : (typeof reason === 'string' ? h('p', { class: 'reason' }, reason) : jsonBlock(reason))));
    }
    if (inst.custom_status !== undefined && inst.custom_status !== null) cards.push(card('Custom status', jsonBlock(inst.custom_status)));
    replaceKeepingOpen(dataBox, cards);

    const showFailure = inst.failure && inst.status !== 'terminated';
    failureBox.hidden = !showFailure;
    if (showFailure) replaceKeepingOpen(failureBox, h('h2', {}, 'Failure'), failureView(inst.failure, 'inst'));
  }

  // ---------------------------------------------------------------- Waiting for

  function renderWaiting(box, w, inst, actions) {
    box.hidden = false;
    const since = (ms) => live(h('span', { class: 'since' }), (now) => elapsed(now - ms));
    const task = (n) => (n != null ? h('span', { class: 'task' }, `task #${n}`) : null);
    const items = (Array.isArray(w.waiting) ? w.waiting : []).map((x) => {
      switch (x.kind) {
        case 'activity':
          return h('li', { class: 'w w-activity' },
            h('span', { class: 'w-kind' }, 'Activity'),
            h('span', {}, h('strong', {}, x.name ?? '?'), ' (', task(x.task), ')',
              x.attempt != null ? `, attempt ${x.attempt}` : '',
              ', since ', since(x.scheduled_at),
              x.last_failure ? [' — last failure: ', h('span', { class: 'err' }, String(x.last_failure.message ?? ''))] : null,
              x.next_attempt_at ? ['; next attempt ', live(h('span', { class: 'since' }), (now) => (x.next_attempt_at > now ? 'in ' + elapsed(x.next_attempt_at - now) : 'due now'))] : null));
        case 'timer':
          return h('li', { class: 'w w-timer' },
            h('span', { class: 'w-kind' }, 'Timer'),
            h('span', {}, 'Timer (', task(x.task), ') fires at ', h('strong', {}, dateTime(x.fire_at)), ' — ',
              live(h('span', { class: 'since' }), (now) => (x.fire_at > now ? 'in ' + elapsed(x.fire_at - now) : `due ${elapsed(now - x.fire_at)} ago`)),
              x.scheduled_at ? [', set ', live(h('span'), (now) => ago(x.scheduled_at, now))] : null));
        case 'event':
          return h('li', { class: 'w w-event' },
            h('span', { class: 'w-kind' }, 'Event'),
            h('span', {}, 'Event ', h('strong', { class: 'mono' }, x.name ?? '?'), ' (', task(x.task), '), since ', since(x.scheduled_at),
              inst.status === 'running' || inst.status === 'suspended'
                ? h('button', { type: 'button', class: 'btn small', onclick: () => actions.prefillEvent(x.name) }, 'Raise…') : null));
        case 'child':
          return h('li', { class: 'w w-child' },
            h('span', { class: 'w-kind' }, 'Child'),
            h('span', {}, 'Child orchestration ', h('strong', {}, x.name ?? '?'), ' (', task(x.task), ') ',
              x.instance_id != null ? h('a', { class: 'mono', href: href.instance(x.instance_id) }, String(x.instance_id)) : null, ' ',
              x.status ? badge(x.status) : null, ', since ', since(x.scheduled_at)));
        case 'actor': {
          const ahead = x.mailbox_ahead;
          return h('li', { class: 'w w-actor' },
            h('span', { class: 'w-kind' }, 'Actor'),
            h('span', {}, 'Actor ', h('a', { class: 'mono', href: href.actorRef(x.actor) }, String(x.actor ?? '?')),
              ' · ', h('strong', {}, x.operation ?? '?'), ' (', task(x.task), '), since ', since(x.scheduled_at),
              typeof ahead === 'number' ? (ahead > 0 ? ` — ${ahead} operation${ahead === 1 ? '' : 's'} ahead in its mailbox` : ' — next in its mailbox') : null));
        }
        case 'actors': {
          const ahead = x.requests_ahead;
          const targets = Array.isArray(x.actors) ? x.actors : [];
          return h('li', { class: 'w w-actor' },
            h('span', { class: 'w-kind' }, 'Actors'),
            h('span', {}, 'All or nothing on ',
              targets.flatMap((a, i) => [i ? ', ' : null, h('a', { class: 'mono', href: href.actorRef(a) }, String(a))]),
              ' (', task(x.task), '), since ', since(x.scheduled_at),
              typeof ahead === 'number' ? (ahead > 0 ? ` — ${ahead} request${ahead === 1 ? '' : 's'} ahead` : ' — next in line') : null));
        }
        default:
          return h('li', { class: 'w' }, h('span', { class: 'w-kind' }, String(x.kind ?? '?')), h('code', {}, compact(x)));
      }
    }).map((li, i) => {
      const x = w.waiting[i];
      if (x && x.arrived) li.lastElementChild.append(h('span', { class: 'arrived' }, ' — arrived: the next episode takes it in'));
      return li;
    });
    replaceKeepingOpen(box,
      h('div', { class: 'card-title' },
        h('h2', {}, 'Waiting for'),
        w.since ? h('span', { class: 'muted' }, 'since ', dateTime(w.since), ' (', live(h('span'), (now) => elapsed(now - w.since)), ')') : null),
      inst.status === 'suspended' || w.status === 'suspended'
        ? h('p', { class: 'note warn' }, 'Suspended: it makes no progress until resumed.') : null,
      items.length ? h('ul', { class: 'waiting-list' }, items)
        : h('p', { class: 'note' }, w.note ? String(w.note) : 'Not waiting on anything known: it is probably being replayed right now.'));
  }

  // ---------------------------------------------------------------- Timeline

  const EVENT_LABELS = {
    started: 'Started', activity_scheduled: 'Activity', timer_scheduled: 'Timer', child_scheduled: 'Child',
    actor_called: 'Actor call', actor_signaled: 'Actor signal', actors_called_atomically: 'Actor calls',
    event_awaited: 'Event', task_awaited: 'Result', any_awaited: 'First result', now: 'Clock', random: 'Random',
    uuid: 'UUID', custom_status: 'Status', continued_as_new: 'Continued', completed: 'Completed', failed: 'Failed',
  };
  const EVENT_FAMILY = {
    started: 'life', completed: 'ok', failed: 'bad', continued_as_new: 'life', activity_scheduled: 'activity',
    timer_scheduled: 'timer', child_scheduled: 'child', actor_called: 'actor', actor_signaled: 'actor',
    actors_called_atomically: 'actor', event_awaited: 'event', task_awaited: 'result', any_awaited: 'result',
  };
  // Events that start a task which a later task_awaited/any_awaited resolves.
  // What schedules a task; its id is the event's seq. Waiting for an event is
  // a task too; a signal is one-way and has none.
  const TASK_TYPES = new Set(['activity_scheduled', 'timer_scheduled', 'child_scheduled', 'actor_called', 'actors_called_atomically', 'event_awaited']);

  function taskLabel(ev) {
    if (!ev) return '';
    switch (ev.type) {
      case 'activity_scheduled': return `activity ${ev.name ?? ''}`;
      case 'timer_scheduled': return 'timer';
      case 'child_scheduled': return `child ${ev.name ?? ''}`;
      case 'actor_called': return `actor ${ev.operation ? `${ev.operation.actor} · ${ev.operation.operation}` : ''}`;
      case 'actor_signaled': return 'signal';
      case 'event_awaited': return `event ${ev.name ?? ''}`;
      case 'actors_called_atomically': return 'atomic actor calls';
      default: return ev.type;
    }
  }

  function renderTimeline(box, events, inst) {
    const fin = isFinished(inst.status);
    const t0 = events.length && typeof events[0].at === 'number' ? events[0].at : inst.created_at;
    const lastAt = events.length ? events[events.length - 1].at : t0;
    const endFixed = fin ? Math.max(inst.updated_at || 0, lastAt || 0) : null;

    // task id (= seq of the scheduling event) -> {ev, done: awaiting event, failed}
    const tasks = new Map();
    for (const ev of events) {
      if (TASK_TYPES.has(ev.type)) tasks.set(ev.seq, { ev, done: null });
      else if (ev.type === 'task_awaited' || ev.type === 'any_awaited') {
        const id = ev.type === 'task_awaited' ? ev.task : (Array.isArray(ev.tasks) ? ev.tasks[ev.winner] : undefined);
        const t = tasks.get(id);
        if (t && !t.done) t.done = ev;
        if (ev.type === 'any_awaited' && Array.isArray(ev.tasks)) {
          for (const other of ev.tasks) {
            const o = tasks.get(other);
            if (o && other !== id && !o.done) o.lost = true;
          }
        }
      }
    }

    const bars = []; // {el, start, end|null}
    const scale = (now) => {
      const end = endFixed !== null ? endFixed : now;
      return Math.max(1, end - t0);
    };
    const placeBars = (now) => {
      const span = scale(now);
      for (const b of bars) {
        const end = b.end !== null ? b.end : now;
        b.el.style.left = `${Math.min(100, ((b.start - t0) / span) * 100)}%`;
        b.el.style.width = `${Math.max(0, Math.min(100, ((end - b.start) / span) * 100))}%`;
      }
    };
    const bar = (start, end, cls) => {
      const el = h('span', { class: `bar ${cls}` });
      bars.push({ el, start, end });
      return h('div', { class: 'ev-bar' }, el);
    };

    const MAX_ROWS = 1000;
    const row = (ev) => {
      const label = EVENT_LABELS[ev.type] || String(ev.type);
      const family = EVENT_FAMILY[ev.type] || 'misc';
      const body = [];
      let failed = false;
      let barEl = h('div', { class: 'ev-bar' });
      const k = `ev${ev.seq}`;
      const result = (x) => {
        if (x.failure) { failed = true; return [h('span', { class: 'err' }, '✕ '), failureInline(x.failure, k + 'f')]; }
        return x.output !== undefined ? ['→ ', jsonInline(x.output, k + 'o')] : null;
      };
      const withTask = (t, what) => {
        if (!t) return;
        if (t.done) {
          const took = t.done.at - ev.at;
          failed = failed || !!t.done.failure;
          body.push(h('span', { class: t.done.failure ? 'took err' : 'took' }, `${t.done.failure ? 'failed after' : what} ${duration(took)}`));
          barEl = bar(ev.at, t.done.at, t.done.failure ? 'bad' : family);
        } else if (!fin) {
          body.push(live(h('span', { class: 'took pending' }), (now) => `pending ${elapsed(now - ev.at)}`));
          barEl = bar(ev.at, null, family + ' pending');
        } else {
          body.push(h('span', { class: 'took muted' }, t.lost ? 'lost the race' : 'never finished'));
        }
      };
      const t = tasks.get(ev.seq);
      switch (ev.type) {
        case 'started':
          body.push(h('strong', {}, ev.name ?? ''), ' ', jsonInline(ev.input, k + 'i'));
          break;
        case 'activity_scheduled':
          body.push(h('strong', {}, ev.name ?? '?'), ' ', jsonInline(ev.input, k + 'i'));
          if (ev.options && Object.keys(ev.options).length) body.push(h('span', { class: 'opts', title: compact(ev.options) }, 'options'));
          withTask(t, 'took');
          break;
        case 'timer_scheduled':
          body.push(h('strong', {}, duration(ev.delay_ms)), ' due ', h('span', { title: new Date(ev.fire_at).toString() }, dateTime(ev.fire_at)));
          if ((t && t.done) || fin || typeof ev.fire_at !== 'number') withTask(t, 'fired after');
          else {
            // A pending timer's span is known in advance: draw it to its due time.
            body.push(live(h('span', { class: 'took pending' }), (now) => (ev.fire_at > now ? `fires in ${elapsed(ev.fire_at - now)}` : 'due now')));
            barEl = bar(ev.at, ev.fire_at, 'timer pending');
          }
          break;
        case 'child_scheduled':
          body.push(h('strong', {}, ev.name ?? '?'), ' ',
            ev.instance_id != null ? h('a', { class: 'mono', href: href.instance(ev.instance_id) }, String(ev.instance_id)) : null, ' ',
            jsonInline(ev.input, k + 'i'));
          withTask(t, 'took');
          break;
        case 'actor_called':
          body.push(actorOp(ev.operation, k));
          withTask(t, 'took');
          break;
        case 'actor_signaled':
          body.push(actorOp(ev.operation, k), ' ', h('span', { class: 'took muted' }, 'one-way'));
          break;
        case 'actors_called_atomically':
          (Array.isArray(ev.operations) ? ev.operations : []).forEach((op, i) => body.push(actorOp(op, `${k}.${i}`)));
          withTask(t, 'took');
          break;
        case 'event_awaited':
          body.push('waits for ', h('strong', { class: 'mono' }, ev.name ?? '?'));
          withTask(t, 'arrived after');
          break;
        case 'task_awaited': {
          const s = tasks.get(ev.task);
          body.push(h('span', { class: 'task' }, `#${ev.task}`), s ? h('span', { class: 'muted' }, ` ${taskLabel(s.ev)} `) : ' ', result(ev));
          break;
        }
        case 'any_awaited': {
          const ids = Array.isArray(ev.tasks) ? ev.tasks : [];
          const win = ids[ev.winner];
          body.push('first of ', ids.flatMap((x, i) => [i ? ', ' : '', h('span', { class: i === ev.winner ? 'task winner' : 'task' }, `#${x}`)]),
            win !== undefined ? h('span', { class: 'muted' }, ` winner #${win} ${taskLabel(tasks.get(win) && tasks.get(win).ev)} `) : ' ',
            result(ev));
          break;
        }
        case 'now': body.push(h('code', {}, String(ev.ms)), ' ', h('span', { class: 'muted' }, dateTime(ev.ms))); break;
        case 'random': body.push(h('code', {}, compact(ev.value))); break;
        case 'uuid': body.push(h('code', {}, String(ev.value))); break;
        case 'custom_status': body.push(jsonInline(ev.status, k + 's')); break;
        case 'continued_as_new': body.push('with ', jsonInline(ev.input, k + 'i')); break;
        case 'completed': body.push('→ ', jsonInline(ev.output, k + 'o')); break;
        case 'failed': failed = true; body.push(failureInline(ev.failure, k + 'f')); break;
        default: {
          const rest = Object.assign({}, ev);
          delete rest.seq; delete rest.at; delete rest.type;
          body.push(jsonInline(rest, k + 'x'));
        }
      }
      if (barEl.childNodes.length === 0 && typeof ev.at === 'number') {
        const tick = h('span', { class: `tick ${failed ? 'bad' : family}` });
        bars.push({ el: tick, start: ev.at, end: ev.at });
        barEl.appendChild(tick);
      }
      return h('li', { class: ['ev', `f-${family}`, failed && 'failed'] },
        h('span', { class: 'ev-time', title: dateTime(ev.at) }, typeof ev.at === 'number' ? offset(ev.at - t0) : ''),
        h('span', { class: 'ev-seq' }, `#${ev.seq}`),
        h('span', { class: 'ev-type' }, label),
        h('div', { class: 'ev-body' }, body),
        barEl);
    };

    const list = h('ol', { class: 'events' }, events.slice(0, MAX_ROWS).map(row));
    const rest = events.length - MAX_ROWS;
    const more = rest > 0 ? h('button', { type: 'button', class: 'btn', onclick: () => {
      add(list, events.slice(MAX_ROWS).map(row));
      placeBars(Date.now());
      more.remove();
    } }, `Show ${rest} more events`) : null;

    const total = fin ? duration(endFixed - t0) : null;
    replaceKeepingOpen(box,
      h('div', { class: 'card-title' },
        h('h2', {}, 'Timeline'),
        h('span', { class: 'muted' }, `${events.length} event${events.length === 1 ? '' : 's'}`,
          total ? ` · ${total}` : [' · ', live(h('span'), (now) => `${elapsed(now - t0)} so far`)])),
      events.length ? [h('div', { class: 'events-head' }, h('span', {}, 'Time'), h('span', {}, 'Seq'), h('span', {}, 'Event'), h('span', {}, 'Details'), h('span', {}, 'Span')), list, more]
        : h('p', { class: 'muted' }, 'No history yet.'));
    placeBars(Date.now());
    return { updateBars: placeBars };
  }

  function actorOp(op, key) {
    if (!op || typeof op !== 'object') return jsonInline(op, key);
    return h('span', { class: 'actor-op' },
      h('a', { class: 'mono', href: href.actorRef(op.actor) }, String(op.actor ?? '?')), ' · ',
      h('strong', {}, op.operation ?? '?'), ' ', jsonInline(op.input, key + 'i'));
  }

  function failureInline(f, key) {
    if (!f || typeof f !== 'object') return h('span', { class: 'err' }, String(f ?? 'failed'));
    if (f.details === undefined || f.details === null) return h('span', { class: 'err' }, String(f.message ?? 'failed'));
    return h('details', { class: 'fail-fold', 'data-key': key },
      h('summary', {}, h('span', { class: 'err' }, String(f.message ?? 'failed'))),
      failureView(f, key));
  }

  // ---------------------------------------------------------------- Instance actions

  // Built once per page (forms keep what the user typed across refreshes);
  // update(inst) shows what fits the status.
  function instanceActions(ctx, id, on) {
    let inst = null;
    const run = async (btn, fn) => {
      btn.disabled = true;
      try { await fn(); } catch (e) { if (ctx.alive) reportError(e); }
      btn.disabled = false;
    };
    const post = (what, body) => api('POST', apiPath.action(id, what), { body, signal: ctx.signal });

    const suspendBtn = h('button', { type: 'button', class: 'btn', onclick: () => run(suspendBtn, async () => {
      const r = await post('suspend'); showMessage('info', 'Suspended.'); on.instance(r.data);
    }) }, 'Suspend');
    const resumeBtn = h('button', { type: 'button', class: 'btn', onclick: () => run(resumeBtn, async () => {
      const r = await post('resume'); showMessage('info', 'Resumed.'); on.instance(r.data);
    }) }, 'Resume');
    const terminateBtn = h('button', { type: 'button', class: 'btn danger-outline', onclick: () => {
      terminateForm.hidden = !terminateForm.hidden;
      if (!terminateForm.hidden) reasonIn.focus();
    } }, 'Terminate…');
    const purgeBtn = h('button', { type: 'button', class: 'btn danger-outline', onclick: () => {
      if (!window.confirm(`Purge instance ${id}? Its history is deleted for good.`)) return;
      run(purgeBtn, async () => { await api('DELETE', apiPath.instance(id), { signal: ctx.signal }); on.purged(); });
    } }, 'Purge');
    const buttons = h('div', { class: 'head-actions' }, suspendBtn, resumeBtn, terminateBtn, purgeBtn);

    const reasonIn = h('input', { type: 'text', placeholder: 'Reason (optional)', maxlength: 2000 });
    const doTerminate = h('button', { type: 'submit', class: 'btn danger' }, 'Terminate');
    const terminateForm = h('form', { class: 'inline-form terminate', hidden: true, onsubmit: (e) => {
      e.preventDefault();
      if (!window.confirm(`Terminate instance ${id}?`)) return;
      run(doTerminate, async () => {
        const r = await post('terminate', { reason: reasonIn.value });
        terminateForm.hidden = true;
        showMessage('info', 'Terminated.');
        on.instance(r.data);
      });
    } }, h('label', { class: 'grow' }, h('span', {}, 'Terminate with reason'), reasonIn), doTerminate,
    h('button', { type: 'button', class: 'btn ghost', onclick: () => { terminateForm.hidden = true; } }, 'Cancel'));

    const eventName = h('input', { type: 'text', required: true, placeholder: 'approval', class: 'mono', autocomplete: 'off' });
    const eventData = jsonField('data', '{"approved": true}   (empty = null)', 4);
    const raiseBtn = h('button', { type: 'submit', class: 'btn primary' }, 'Raise event');
    const raiseCard = h('section', { class: 'card actions', hidden: true },
      h('h2', {}, 'Raise event'),
      h('form', { class: 'stack', onsubmit: (e) => {
        e.preventDefault();
        const name = eventName.value.trim();
        if (!name) { eventName.focus(); return; }
        const data = eventData.check();
        if (!data.ok) { eventData.ta.focus(); return; }
        run(raiseBtn, async () => {
          await api('POST', apiPath.event(id, name), { body: data.value, signal: ctx.signal });
          showMessage('info', `Event “${name}” raised.`);
        });
      } },
      h('label', {}, h('span', {}, 'Event name'), eventName),
      h('label', {}, h('span', {}, 'Data (JSON)'), eventData.el),
      h('div', {}, raiseBtn)));

    return {
      buttons, terminateForm, raiseCard,
      update(i) {
        inst = i;
        const s = i.status;
        const active = s === 'running' || s === 'suspended';
        suspendBtn.hidden = s !== 'running';
        resumeBtn.hidden = s !== 'suspended';
        terminateBtn.hidden = !active;
        if (!active) terminateForm.hidden = true;
        purgeBtn.hidden = !isFinished(s);
        raiseCard.hidden = !active;
      },
      prefillEvent(name) {
        if (!inst) return;
        eventName.value = name ?? '';
        raiseCard.scrollIntoView({ behavior: 'smooth', block: 'center' });
        eventData.ta.focus({ preventScroll: true });
      },
    };
  }

  // ---------------------------------------------------------------- Actors

  function actorsPage(ctx, main, query) {
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

  function actorPage(ctx, main, kind, key) {
    setTitle(`Actor ${kind}/${key}`);
    const stateBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
    const mailbox = h('span', { class: 'mailbox' });
    let lastKey = null;

    const load = async () => {
      let r = null;
      try {
        r = await api('GET', apiPath.actor(kind, key), { signal: ctx.signal });
      } catch (e) {
        if (!ctx.alive || isAbort(e)) return;
        if (e.status !== 404) { reportError(e); return; }
      }
      const k = r ? compact(r.data) : '404';
      if (k === lastKey) return;
      lastKey = k;
      if (!r) {
        mailbox.replaceChildren();
        stateBox.replaceChildren(h('p', { class: 'muted' }, 'No state yet: this actor has not handled an operation that stored state.'));
        return;
      }
      const n = Number(r.data.mailbox) || 0;
      mailbox.replaceChildren(h('span', { class: n ? 'pill busy' : 'pill' }, `${n} pending operation${n === 1 ? '' : 's'}`));
      stateBox.replaceChildren(r.data.state === null || r.data.state === undefined
        ? h('p', { class: 'muted' }, 'State is empty (null).') : jsonBlock(r.data.state));
    };

    const opForm = (title, verb, onSend) => {
      const op = h('input', { type: 'text', required: true, class: 'mono', placeholder: 'operation', autocomplete: 'off' });
      const input = jsonField('input', '{"amount": 10}   (empty = null)', 4);
      const btn = h('button', { type: 'submit', class: 'btn primary' }, verb);
      const out = h('div', { class: 'op-result' });
      const form = h('form', { class: 'stack', onsubmit: async (e) => {
        e.preventDefault();
        const name = op.value.trim();
        if (!name) { op.focus(); return; }
        const v = input.check();
        if (!v.ok) { input.ta.focus(); return; }
        btn.disabled = true;
        out.replaceChildren(h('p', { class: 'muted' }, 'Sending…'));
        try { await onSend(name, v.value, out); } catch (err) { if (ctx.alive) { out.replaceChildren(); reportError(err); } }
        btn.disabled = false;
        load();
      } },
      h('label', {}, h('span', {}, 'Operation'), op),
      h('label', {}, h('span', {}, 'Input (JSON)'), input.el),
      h('div', {}, btn), out);
      return h('section', { class: 'card' }, h('h2', {}, title), form);
    };

    const signalCard = opForm('Signal', 'Send signal', async (op, input, out) => {
      await api('POST', `${apiPath.actor(kind, key)}/signal/${enc(op)}`, { body: input, signal: ctx.signal });
      out.replaceChildren(h('p', { class: 'ok' }, `Signal “${op}” queued.`));
    });
    const callCard = opForm('Call', 'Call', async (op, input, out) => {
      try {
        const r = await api('POST', `${apiPath.actor(kind, key)}/call/${enc(op)}`, { query: { timeout_ms: 30000 }, body: input, signal: ctx.signal });
        out.replaceChildren(h('div', { class: 'op-out ok-box' }, h('h3', {}, 'Output'), jsonBlock(r.data ? r.data.output : null)));
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 422) throw e;
        out.replaceChildren(h('div', { class: 'op-out bad-box' }, h('h3', {}, 'The operation failed'),
          failureView({ message: e.message, details: e.details }, 'call')));
      }
    });

    main.append(
      h('p', { class: 'crumbs' }, h('a', { href: href.actors(kind) }, `← Actors of kind ${kind}`)),
      h('section', { class: 'card inst-head' },
        h('div', { class: 'head-row' }, h('div', { class: 'head-title' },
          h('div', { class: 'eyebrow' }, 'Actor'),
          h('h1', { class: 'mono id-title' }, h('span', { class: 'muted' }, kind, ' / '), key)),
          mailbox)),
      h('section', { class: 'card' }, h('h2', {}, 'State'), stateBox),
      h('div', { class: 'two-col' }, signalCard, callCard));
    load();
    ctx.every(2000, load);
  }

  // ---------------------------------------------------------------- Start

  function startPage(ctx, main, query) {
    setTitle('Start an instance');
    const wanted = query.get('orchestration') || '';
    const orch = h('select', { required: true }, h('option', { value: '' }, 'Loading…'));
    const idIn = h('input', { type: 'text', class: 'mono', placeholder: 'generated when empty', autocomplete: 'off' });
    const input = jsonField('input', '{"name": "world"}   (empty = null)', 8);
    const wait = h('input', { type: 'checkbox' });
    const btn = h('button', { type: 'submit', class: 'btn primary' }, 'Start');

    const form = h('form', { class: 'card stack start-form', onsubmit: async (e) => {
      e.preventDefault();
      if (!orch.value) { orch.focus(); return; }
      const v = input.check();
      if (!v.ok) { input.ta.focus(); return; }
      const body = { orchestration: orch.value, input: v.value };
      if (idIn.value.trim()) body.instance_id = idIn.value.trim();
      btn.disabled = true;
      btn.textContent = wait.checked ? 'Waiting for the result…' : 'Starting…';
      try {
        const r = await api('POST', apiPath.instances, { body, query: wait.checked ? { wait_ms: 30000 } : undefined, signal: ctx.signal });
        let newId = (r.data && r.data.id) || body.instance_id;
        if (!newId) {
          const loc = r.headers.get('Location') || '';
          const m = /\/api\/instances\/([^/?#]+)/.exec(loc);
          if (m) newId = decodeURIComponent(m[1]);
        }
        if (!newId) { navigate(href.instances(), 'Started.'); return; }
        const st = r.data && r.data.instance ? r.data.instance.status : null;
        navigate(href.instance(newId), st ? `Started and ${st}.` : 'Started.');
      } catch (err) {
        if (ctx.alive) reportError(err);
      }
      btn.disabled = false;
      btn.textContent = 'Start';
    } },
    h('label', {}, h('span', {}, 'Orchestration'), orch),
    h('label', {}, h('span', {}, 'Instance id (optional)'), idIn),
    h('label', {}, h('span', {}, 'Input (JSON)'), input.el),
    h('label', { class: 'check' }, wait, h('span', {}, 'Wait for the result (up to 30 s)')),
    h('div', {}, btn));

    main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Start an instance')), form);

    components().then((cs) => {
      const groups = cs.filter((c) => (c.orchestrations || []).length);
      orch.replaceChildren(h('option', { value: '' }, groups.length ? 'Choose an orchestration' : 'No orchestration is deployed'));
      for (const c of groups) {
        const opts = c.orchestrations.map((o) => h('option', { value: o }, o));
        if (groups.length > 1) orch.appendChild(h('optgroup', { label: `component ${shortDigest(c.digest)}` }, opts));
        else add(orch, opts);
      }
      if (wanted) orch.value = wanted;
    }).catch((e) => {
      if (!ctx.alive) return;
      orch.replaceChildren(h('option', { value: '' }, 'Could not load the components'));
      reportError(e);
    });
  }

  // ---------------------------------------------------------------- boot

  function boot() {
    setupToken();
    window.addEventListener('hashchange', route);
    if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/instances');
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
