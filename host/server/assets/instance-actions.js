// Steering an instance from its page: suspend, resume, terminate, purge,
// raising an event, and the repairs: rewinding a failed instance, forking
// one from an event of its timeline.
import { api, apiPath } from './api.js';
import { h } from './dom.js';
import { isFinished } from './format.js';
import { href, navigate } from './router.js';
import { reportError, showMessage } from './messages.js';
import { jsonField } from './widgets.js';

// Built once per page (forms keep what the user typed across refreshes);
// update(inst) shows what fits the status.
export function instanceActions(ctx, id, on) {
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
  const rewindBtn = h('button', { type: 'button', class: 'btn', title: 'Take it back to before its failure and run the failed task again', onclick: () => {
    if (!window.confirm(`Rewind instance ${id} to before its failure? The failed task runs again; what is cut stays in its history.`)) return;
    run(rewindBtn, async () => {
      const r = await post('rewind', {});
      const task = r.data.rewound.failed_task;
      showMessage('info', task != null ? `Rewound: task #${task} runs again.` : 'Rewound: it runs again from before its failure.');
      on.instance(r.data.instance);
    });
  } }, 'Rewind');
  const buttons = h('div', { class: 'head-actions' }, rewindBtn, suspendBtn, resumeBtn, terminateBtn, purgeBtn);

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
      rewindBtn.hidden = s !== 'failed';
      raiseCard.hidden = !active;
    },
    // A new instance that goes on from after event #seq; its page opens.
    async fork(seq) {
      const r = await post('fork', { at: seq });
      const fork = r.data.fork;
      navigate(href.instance(fork.instance_id), `Forked ${id} after #${seq} as ${fork.instance_id}.`);
    },
    prefillEvent(name) {
      if (!inst) return;
      eventName.value = name ?? '';
      raiseCard.scrollIntoView({ behavior: 'smooth', block: 'center' });
      eventData.ta.focus({ preventScroll: true });
    },
  };
}
