// One actor: its state and mailbox, kept live, and forms to signal and
// call it.
import { api, ApiError, apiPath, isAbort } from '../api.js';
import { h } from '../dom.js';
import { compact } from '../format.js';
import { reportError } from '../messages.js';
import { href, setTitle } from '../router.js';
import { failureView, jsonBlock, jsonField } from '../widgets.js';

export function actorPage(ctx, main, kind, key) {
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
    const bound = Number(r.data.mailbox_capacity) || 0;
    const full = bound > 0 && n >= bound;
    mailbox.replaceChildren(h('span', { class: n ? 'pill busy' : 'pill', title: full ? 'full: new operations are refused until it drains' : '' },
      `${n} pending operation${n === 1 ? '' : 's'}` + (bound ? ` of ${bound.toLocaleString('en')}` : '') + (full ? ' (full)' : '')));
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
    await api('POST', apiPath.signal(kind, key, op), { body: input, signal: ctx.signal });
    out.replaceChildren(h('p', { class: 'ok' }, `Signal “${op}” queued.`));
  });
  const callCard = opForm('Call', 'Call', async (op, input, out) => {
    try {
      const r = await api('POST', apiPath.call(kind, key, op), { query: { timeout_ms: 30000 }, body: input, signal: ctx.signal });
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
