// The instance page's "Waiting for" panel: what a blocked instance awaits,
// as GET /api/instances/{id}/waiting explains it.
import { h, live, replaceKeepingOpen } from './dom.js';
import { ago, compact, dateTime, elapsed } from './format.js';
import { href } from './router.js';
import { badge } from './widgets.js';

export function renderWaiting(box, w, inst, actions) {
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
