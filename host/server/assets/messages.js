// What the page tells the person: errors in the bar above the page,
// confirmations as toasts.
import { ApiError, isAbort } from './api.js';
import { $, h } from './dom.js';

const messages = () => $('#messages');

// Errors stay in the bar above the page until dismissed; confirmations are
// short toasts that do not push the page down.
export function showMessage(kind, text, sticky = kind === 'error') {
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

export function reportError(e) {
  if (isAbort(e)) return;
  if (e instanceof ApiError) {
    showMessage('error', e.status ? `${e.message} (${e.status} ${e.code})` : e.message);
  } else {
    console.error(e);
    showMessage('error', String(e && e.message ? e.message : e));
  }
}
