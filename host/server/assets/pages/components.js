// The registered components: what each exports (and which names it answers
// to now), how many instances run each version, registering a new one, and
// moving live instances to one: its upgrade plan, then applying it. Below,
// the activities' tasks: waiting or running, and their limits.
import { api, apiPath, forgetComponents, upload } from '../api.js';
import { h } from '../dom.js';
import { shortDigest, STATUSES } from '../format.js';
import { reportError, showMessage } from '../messages.js';
import { href, setTitle } from '../router.js';
import { badge } from '../widgets.js';

export function componentsPage(ctx, main) {
  setTitle('Components');
  const list = h('section', { class: 'card table-card' }, h('p', { class: 'muted pad' }, 'Loading…'));
  const planBox = h('section', { class: 'card plan', hidden: true });
  const activities = h('section', { class: 'card table-card activities' });
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Components')), registerForm(ctx, () => load()), list, planBox, activities);

  async function load() {
    const r = await ctx.guard(api('GET', apiPath.components, { signal: ctx.signal }));
    if (!r) return;
    const components = (r.data && r.data.components) || [];
    list.replaceChildren(
      h('div', { class: 'card-title pad' }, h('h2', {}, 'Registered'),
        h('span', { class: 'muted' }, `${components.length} component${components.length === 1 ? '' : 's'}, newest first`),
        h('button', { type: 'button', class: 'btn small ghost', onclick: load }, 'Refresh')),
      components.length ? h('table', { class: 'list components' },
        h('colgroup', {}, h('col', { class: 'c-digest' }), h('col'), h('col', { class: 'c-counts' }), h('col', { class: 'c-plan' })),
        h('thead', {}, h('tr', {}, h('th', {}, 'Component'), h('th', {}, 'Exports'), h('th', {}, 'Instances on it'), h('th', {}, ''))),
        h('tbody', {}, [...components].reverse().map((c) => componentRow(c, (digest) => showPlan(digest)))))
        : h('div', { class: 'empty' }, h('p', {}, 'Nothing is registered yet.')));
    loadActivities();
  }

  async function loadActivities() {
    const r = await ctx.guard(api('GET', apiPath.activities, { signal: ctx.signal }));
    if (!r) return;
    const load = (r.data && r.data.activities) || [];
    activities.replaceChildren(
      h('div', { class: 'card-title pad' }, h('h2', {}, 'Activities'),
        h('span', { class: 'muted' }, 'tasks on every host; running counts the attempts of limited activities'),
        h('button', { type: 'button', class: 'btn small ghost', onclick: loadActivities }, 'Refresh')),
      load.length ? h('table', { class: 'list activities' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Activity'), h('th', {}, 'Waiting'), h('th', {}, 'Running'), h('th', {}, 'Limits'))),
        h('tbody', {}, load.map(activityRow)))
        : h('div', { class: 'empty' }, h('p', {}, 'No activity has tasks or limits.')));
  }

  async function showPlan(digest) {
    planBox.hidden = false;
    planBox.replaceChildren(h('h2', {}, 'Upgrade plan'), h('p', { class: 'muted' }, 'Replaying every live instance against this code…'));
    planBox.scrollIntoView({ behavior: 'smooth', block: 'start' });
    const r = await ctx.guard(api('GET', apiPath.upgradePlan(digest), { signal: ctx.signal }));
    if (!r) { planBox.hidden = true; return; }
    renderPlan(planBox, r.data, () => apply(digest));
  }

  async function apply(digest) {
    const r = await ctx.guard(api('POST', apiPath.upgrade(digest), { signal: ctx.signal }));
    if (!r) return;
    const report = r.data.report;
    showMessage('info', `Moved ${report.moved.length} instance${report.moved.length === 1 ? '' : 's'} to ${shortDigest(digest)}.`);
    renderPlan(planBox, { totals: r.data.totals, plan: report.plan }, null, report);
    load();
  }

  load();
}

function componentRow(c, plan) {
  const names = (role, label) => (c[role] || []).map((name) => {
    const current = (c.current && c.current[role] || []).includes(name);
    return h('span', { class: current ? 'export' : 'export superseded', title: current ? `${label}: new work runs this code`
      : `${label}: a newer component is registered for it` }, h('span', { class: 'role' }, label), ' ', name);
  });
  const counts = STATUSES.filter((s) => c.instances && c.instances[s] > 0)
    .map((s) => h('a', { class: 'count', href: href.instances() + '?status=' + s, title: `${c.instances[s]} ${s}` }, badge(s), ' ', String(c.instances[s])));
  const orchestrates = (c.orchestrations || []).length > 0;
  return h('tr', { 'data-digest': c.digest },
    h('td', { class: 'digest' }, h('code', { class: 'mono', title: c.digest }, shortDigest(c.digest))),
    h('td', { class: 'exports' }, h('div', { class: 'tags' }, names('orchestrations', 'orchestration'), names('activities', 'activity'), names('actors', 'actor'))),
    h('td', { class: 'counts' }, h('div', { class: 'tags' }, counts.length ? counts : h('span', { class: 'muted' }, 'none'))),
    h('td', { class: 'plan' }, orchestrates ? h('button', { type: 'button', class: 'btn small', title: 'Replay every live instance of its orchestrations against this code',
      onclick: () => plan(c.digest) }, 'Plan upgrade') : null));
}

function activityRow(a) {
  return h('tr', { 'data-activity': a.name },
    h('td', {}, h('code', { class: 'mono' }, a.name)),
    h('td', { class: 'count-waiting' }, String(a.waiting)),
    h('td', { class: 'count-running' }, String(a.running)),
    h('td', { class: 'limits' }, a.limits ? limitsText(a.limits) : h('span', { class: 'muted' }, 'none')));
}

// `10 at once · 100 per 1 s · 3 at once per /customer`
function limitsText(l) {
  const parts = [];
  if (l.concurrency) parts.push(`${l.concurrency} at once`);
  if (l.rate) parts.push(`${l.rate.count} per ${l.rate.period_ms % 1000 === 0 ? `${l.rate.period_ms / 1000} s` : `${l.rate.period_ms} ms`}`);
  if (l.per_key) parts.push(`${l.per_key.limit} at once per ${l.per_key.pointer}`);
  return parts.join(' · ');
}

function verdict(i) {
  if (i.verdict === 'compatible') return h('span', { class: 'verdict ok' }, 'compatible');
  if (i.verdict === 'diverges') {
    return h('span', { class: 'verdict bad' }, `diverges at #${i.position}`,
      h('span', { class: 'why' }, 'history holds ', h('code', {}, i.recorded), ', the new code asks for ', h('code', {}, i.requested)));
  }
  return h('span', { class: 'verdict bad' }, 'fails', h('span', { class: 'why' }, String(i.message ?? '')));
}

// The plan's totals and one row per instance; with `apply`, a button that
// moves the compatible ones; with `report`, what the move did.
function renderPlan(box, { totals, plan }, apply, report) {
  const moved = new Set(report ? report.moved : []);
  const kept = new Map(report ? report.kept.map((k) => [k.instance_id, k.why]) : []);
  const movable = plan.instances.filter((i) => i.verdict === 'compatible' && !i.pinned).length;
  const applyBtn = apply ? h('button', { type: 'button', class: 'btn primary', disabled: movable === 0, onclick: () => {
    if (!window.confirm(`Move ${movable} compatible instance${movable === 1 ? '' : 's'} to ${shortDigest(plan.digest)}?`)) return;
    applyBtn.disabled = true;
    apply().catch(reportError);
  } }, movable ? `Move ${movable} compatible instance${movable === 1 ? '' : 's'}` : 'Nothing to move') : null;
  const rows = plan.instances.map((i) => h('tr', { 'data-instance': i.instance_id },
    h('td', { class: 'id' }, h('a', { class: 'mono', href: href.instance(i.instance_id) }, i.instance_id)),
    h('td', {}, i.name, ' ', badge(i.status), i.pinned ? h('span', { class: 'muted' }, ' pinned') : null),
    h('td', {}, h('code', { class: 'mono', title: i.from }, shortDigest(i.from))),
    h('td', {}, verdict(i)),
    report ? h('td', { class: 'outcome' }, moved.has(i.instance_id) ? h('span', { class: 'verdict ok' }, 'moved')
      : (kept.has(i.instance_id) ? h('span', { class: 'muted' }, `kept: ${kept.get(i.instance_id)}`) : '')) : null));
  box.replaceChildren(
    h('div', { class: 'card-title' }, h('h2', {}, 'Upgrade plan for ', h('code', { class: 'mono', title: plan.digest }, shortDigest(plan.digest))),
      applyBtn),
    h('p', { class: 'totals' },
      h('strong', {}, String(totals.compatible)), ' compatible · ',
      h('strong', {}, String(totals.diverges)), ' diverge · ',
      h('strong', {}, String(totals.fails)), ' fail',
      h('span', { class: 'muted' }, ` — live instances of ${plan.orchestrations.join(', ')} on other code`)),
    rows.length ? h('table', { class: 'list plan-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Instance'), h('th', {}, 'Orchestration'), h('th', {}, 'Runs'), h('th', {}, 'Verdict'), report ? h('th', {}, 'Applied') : null)),
      h('tbody', {}, rows))
      : h('p', { class: 'muted' }, 'No live instance runs other code of these orchestrations.'));
}

// Registering a component by upload, optionally moving the compatible live
// instances to it at once (the `auto` upgrade policy).
function registerForm(ctx, done) {
  const file = h('input', { type: 'file', accept: '.wasm,application/wasm', required: true });
  const auto = h('input', { type: 'checkbox' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Register');
  return h('form', { class: 'filters card register', onsubmit: async (e) => {
    e.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) { file.focus(); return; }
    submit.disabled = true;
    try {
      const bytes = await chosen.arrayBuffer();
      const r = await upload(apiPath.components, bytes, { upgrade: auto.checked ? 'auto' : undefined, signal: ctx.signal });
      forgetComponents();
      const moved = r.data.upgrade ? `; moved ${r.data.upgrade.report.moved.length} live instance(s) to it` : '';
      showMessage('info', `Registered ${shortDigest(r.data.digest)}${moved}.`);
      file.value = '';
      done();
    } catch (err) {
      if (ctx.alive) reportError(err);
    }
    submit.disabled = false;
  } },
  h('label', { class: 'grow' }, h('span', {}, 'Register a component (.wasm)'), file),
  h('label', { class: 'check' }, auto, h('span', {}, 'and move compatible live instances to it')),
  h('div', { class: 'filter-actions' }, submit));
}
