// Building the page: elements from plain data, and text that follows the
// clock. Nothing here parses HTML.
export const $ = (sel, root = document) => root.querySelector(sel);

// Keys that must be set as properties (after children exist, so that a
// <select>'s value can pick one of its options).
const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'open', 'hidden', 'required']);

// h('a', {href, class}, 'text', child, [more children]) -> element.
// Strings become text nodes; attributes go through setAttribute.
export function h(tag, attrs, ...children) {
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

export function add(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) add(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace a container's content, keeping <details data-key> that were open
// (a refresh must not fold what the user unfolded).
export function replaceKeepingOpen(container, ...children) {
  const open = new Set();
  container.querySelectorAll('details[data-key]').forEach((d) => { if (d.open) open.add(d.dataset.key); });
  container.replaceChildren();
  add(container, children);
  if (open.size) container.querySelectorAll('details[data-key]').forEach((d) => { if (open.has(d.dataset.key)) d.open = true; });
}

// Elements whose text depends on the clock ("3 min ago", "since 4 s").
// One global ticker updates them; detached elements are forgotten.
const liveEls = new Set();
export function live(el, fn) {
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
