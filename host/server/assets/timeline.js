// The instance page's timeline: one row per history event, and for each
// task a span bar from the event that scheduled it to the one that took in
// its result. Which task an event belongs to is the server's to say (the
// event's `task`); this module only draws it.
import { add, h, live, replaceKeepingOpen } from './dom.js';
import { compact, dateTime, duration, elapsed, isFinished, offset } from './format.js';
import { href } from './router.js';
import { actorOp, failureInline, jsonInline } from './widgets.js';

const EVENT_LABELS = {
  started: 'Started', activity_scheduled: 'Activity', timer_scheduled: 'Timer', child_scheduled: 'Child',
  actor_called: 'Actor call', actor_signaled: 'Actor signal', actors_called_atomically: 'Actor calls',
  event_awaited: 'Event', task_awaited: 'Result', any_awaited: 'First result', now: 'Clock', random: 'Random',
  uuid: 'UUID', custom_status: 'Status', continued_as_new: 'Continued', completed: 'Completed', failed: 'Failed',
  upgraded: 'Upgraded', forked: 'Forked', rewound: 'Rewound',
};
const EVENT_FAMILY = {
  started: 'life', completed: 'ok', failed: 'bad', continued_as_new: 'life', activity_scheduled: 'activity',
  timer_scheduled: 'timer', child_scheduled: 'child', actor_called: 'actor', actor_signaled: 'actor',
  actors_called_atomically: 'actor', event_awaited: 'event', task_awaited: 'result', any_awaited: 'result',
  upgraded: 'life', forked: 'life', rewound: 'life',
};
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

// `fork(seq)`, when given, is offered on every event: "fork from here".
export function renderTimeline(box, events, inst, fork) {
  const fin = isFinished(inst.status);
  const t0 = events.length && typeof events[0].at === 'number' ? events[0].at : inst.created_at;
  const lastAt = events.length ? events[events.length - 1].at : t0;
  const endFixed = fin ? Math.max(inst.updated_at || 0, lastAt || 0) : null;

  // Each task by its id: the event that scheduled it (the one whose `task`
  // is its own seq), the first that took in its result (done), and whether
  // it lost a race (lost).
  const tasks = new Map();
  for (const ev of events) {
    const t = tasks.get(ev.task);
    if (ev.task === ev.seq) tasks.set(ev.seq, { ev, done: null });
    else if (t && !t.done) t.done = ev;
    // The others in a race one of them won lost it, unless already done.
    if (ev.type === 'any_awaited' && Array.isArray(ev.tasks)) {
      for (const other of ev.tasks) {
        const o = tasks.get(other);
        if (o && other !== ev.task && !o.done) o.lost = true;
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
    // The task this event schedules, or whose result it takes in.
    const t = tasks.get(ev.task);
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
      case 'task_awaited':
        body.push(h('span', { class: 'task' }, `#${ev.task}`), t ? h('span', { class: 'muted' }, ` ${taskLabel(t.ev)} `) : ' ', result(ev));
        break;
      case 'any_awaited': {
        const ids = Array.isArray(ev.tasks) ? ev.tasks : [];
        body.push('first of ', ids.flatMap((x, i) => [i ? ', ' : '', h('span', { class: i === ev.winner ? 'task winner' : 'task' }, `#${x}`)]),
          ev.task != null ? h('span', { class: 'muted' }, ` winner #${ev.task} ${taskLabel(t && t.ev)} `) : ' ',
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
      case 'forked':
        body.push('from ', h('a', { href: href.instance(ev.instance_id) }, ev.instance_id),
          ` (execution ${ev.execution}) after its #${ev.event}`);
        break;
      case 'rewound': {
        const cut = Array.isArray(ev.cut) ? ev.cut : [];
        body.push(`${cut.length} event(s) cut, kept here: `, jsonInline(cut, k + 'c'));
        break;
      }
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
    const forkBtn = fork ? h('button', { type: 'button', class: 'btn small ghost fork', 'data-seq': ev.seq,
      title: `Fork from here: a new instance with the events up to #${ev.seq}, going on from there` }, 'Fork') : null;
    if (forkBtn) forkBtn.addEventListener('click', () => { forkBtn.disabled = true; fork(ev.seq).finally(() => { forkBtn.disabled = false; }); });
    return h('li', { class: ['ev', `f-${family}`, failed && 'failed'] },
      h('span', { class: 'ev-time', title: dateTime(ev.at) }, typeof ev.at === 'number' ? offset(ev.at - t0) : ''),
      h('span', { class: 'ev-seq' }, `#${ev.seq}`),
      h('span', { class: 'ev-type' }, label),
      h('div', { class: 'ev-body' }, forkBtn, body),
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
