// The start form: an orchestration from the registered components, an
// optional id, the input, and optionally waiting for the result.
import { api, apiPath, components } from '../api.js';
import { add, h } from '../dom.js';
import { shortDigest } from '../format.js';
import { reportError } from '../messages.js';
import { href, navigate, setTitle } from '../router.js';
import { jsonField } from '../widgets.js';

export function startPage(ctx, main, query) {
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
