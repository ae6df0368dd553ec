// One instance: its head with the steering buttons, what it waits for, its
// input, output and failure, and its timeline, kept live until it finishes.
import { api, ApiError, apiPath, isAbort } from '../api.js';
import { h, live, replaceKeepingOpen } from '../dom.js';
import { ago, compact, dateTime, duration, elapsed, isFinished, shortDigest } from '../format.js';
import { instanceActions } from '../instance-actions.js';
import { reportError } from '../messages.js';
import { href, navigate, setTitle } from '../router.js';
import { renderTimeline } from '../timeline.js';
import { renderWaiting } from '../waiting.js';
import { badge, failureView, jsonBlock } from '../widgets.js';

export function instancePage(ctx, main, id) {
  setTitle(`Instance ${id}`);
  const head = h('section', { class: 'card inst-head' }, h('h1', { class: 'mono id-title' }, id));
  const waitingBox = h('section', { class: 'card waiting', hidden: true });
  const failureBox = h('section', { class: 'card failure-card', hidden: true });
  const dataBox = h('div', { class: 'data-grid' });
  const timelineBox = h('section', { class: 'card timeline' }, h('h2', {}, 'Timeline'), h('p', { class: 'muted' }, 'Loading…'));
  const actions = instanceActions(ctx, id, {
    instance: (inst) => { setInstance(inst); loadHistory(); follow(); },
    purged: () => navigate(href.instances(), `Instance ${id} purged.`),
  });

  main.append(h('p', { class: 'crumbs' }, h('a', { href: href.instances() }, '← Instances')),
    head, waitingBox, failureBox, dataBox, timelineBox, actions.raiseCard);

  const st = { inst: null, instKey: '', events: null, histKey: '', waitKey: '', timeline: null, following: false };

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
    st.timeline = renderTimeline(timelineBox, st.events, st.inst, (seq) => actions.fork(seq).catch((e) => { if (ctx.alive) reportError(e); }));
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

  // Every 2 s while not finished: read the instance and what it waits for
  // side by side, and the history when either moved. Both are read each
  // time because the first reads can straddle an episode's commit (the
  // instance read before it, "waiting for" after), and an unchanged
  // "waiting for" must not keep the custom status of before it on the page.
  async function tick() {
    if (!st.inst || isFinished(st.inst.status)) return;
    const [ri, waitingChanged] = await Promise.all([
      api('GET', apiPath.instance(id), { signal: ctx.signal }), loadWaiting()]);
    if (setInstance(ri.data) || waitingChanged) await loadHistory();
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
    follow();
  })();

  // Keeps the page live while the instance runs: from the start, and again
  // when a rewind sets a finished instance going.
  function follow() {
    if (st.following || !st.inst || isFinished(st.inst.status)) return;
    st.following = true;
    const stop = ctx.every(2000, tick);
    longPoll().finally(() => { st.following = false; stop(); });
  }
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
  const forked = inst.forked_from;
  if (forked) {
    items.push(meta('Forked from', h('a', { class: 'mono lineage', href: href.instance(forked.instance_id) }, String(forked.instance_id)),
      h('span', { class: 'rel' }, ` after #${forked.event}${forked.execution ? ` of execution ${forked.execution}` : ''}`)));
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
