// Small pieces that several pages show: a status badge, JSON values,
// failures, actor operations, and a JSON input field.
import { h } from './dom.js';
import { compact, pretty, STATUSES, truncate } from './format.js';
import { href } from './router.js';

export function badge(status) {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: `badge s-${known}` }, String(status ?? 'unknown'));
}

// A JSON value: short ones inline, long ones folded (<details>) with the
// pretty form inside.
export function jsonInline(value, key, max = 100) {
  if (value === undefined) return h('span', { class: 'muted' }, '—');
  const c = compact(value);
  if (c.length <= max) return h('code', { class: 'json' }, c);
  return h('details', { class: 'json-fold', 'data-key': key },
    h('summary', {}, h('code', { class: 'json' }, truncate(c, max))),
    h('pre', { class: 'json' }, pretty(value)));
}

export const jsonBlock = (value) => (value === undefined
  ? h('p', { class: 'muted' }, 'No value.')
  : h('pre', { class: 'json block' }, pretty(value)));

// Parse a JSON textarea; empty means null. Returns {ok, value} or {ok:false, error}.
function parseJsonField(text) {
  const t = text.trim();
  if (!t) return { ok: true, value: null };
  try { return { ok: true, value: JSON.parse(t) }; } catch (e) { return { ok: false, error: e.message }; }
}

// A JSON textarea with its own validation message under it.
export function jsonField(name, placeholder, rows = 5) {
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

// A failure in full: message, trap, backtrace, stderr and other details.
export function failureView(f, keyPrefix) {
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

// An actor operation: a link to the actor, the operation, its input.
export function actorOp(op, key) {
  if (!op || typeof op !== 'object') return jsonInline(op, key);
  return h('span', { class: 'actor-op' },
    h('a', { class: 'mono', href: href.actorRef(op.actor) }, String(op.actor ?? '?')), ' · ',
    h('strong', {}, op.operation ?? '?'), ' ', jsonInline(op.input, key + 'i'));
}

// A failure on one line, unfolding to the whole of it when it has details.
export function failureInline(f, key) {
  if (!f || typeof f !== 'object') return h('span', { class: 'err' }, String(f ?? 'failed'));
  if (f.details === undefined || f.details === null) return h('span', { class: 'err' }, String(f.message ?? 'failed'));
  return h('details', { class: 'fail-fold', 'data-key': key },
    h('summary', {}, h('span', { class: 'err' }, String(f.message ?? 'failed'))),
    failureView(f, key));
}
