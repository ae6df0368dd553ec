// Values as text: times, durations, JSON, digests, statuses and actor
// references. No DOM.
const pad = (n, w = 2) => String(n).padStart(w, '0');

export function dateTime(ms) {
  if (typeof ms !== 'number' || !isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Two units at most: "850 ms", "4.2 s", "42 s", "3 min 12 s", "2 h 5 min", "3 d 4 h".
export function duration(ms) {
  if (typeof ms !== 'number' || !isFinite(ms)) return '—';
  ms = Math.max(0, ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return m % 60 ? `${hr} h ${m % 60} min` : `${hr} h`;
  const d = Math.floor(hr / 24);
  return hr % 24 ? `${d} d ${hr % 24} h` : `${d} d`;
}

// Whole seconds, for counters that tick every second.
export function elapsed(ms) {
  if (ms < 1000) return '<1 s';
  return ms < 10000 ? `${Math.floor(ms / 1000)} s` : duration(ms);
}

// One unit: "just now", "12 s ago", "3 min ago", "in 5 min".
export function ago(ms, now) {
  if (typeof ms !== 'number') return '';
  const d = now - ms;
  const abs = Math.abs(d);
  let unit;
  if (abs < 5000) return d >= 0 ? 'just now' : 'in a moment';
  if (abs < 60000) unit = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3600000) unit = `${Math.floor(abs / 60000)} min`;
  else if (abs < 86400000) unit = `${Math.floor(abs / 3600000)} h`;
  else unit = `${Math.floor(abs / 86400000)} d`;
  return d >= 0 ? `${unit} ago` : `in ${unit}`;
}

// Offset from the start of an instance: "+0 ms", "+1.25 s", "+3 min 2 s".
export function offset(ms) {
  if (ms < 1000) return `+${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60000) return `+${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return '+' + duration(ms);
}

export function compact(v) {
  if (v === undefined) return '';
  try { return JSON.stringify(v); } catch (e) { return String(v); }
}
export function pretty(v) {
  try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
}
export const truncate = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export function shortDigest(d) {
  if (!d) return '—';
  const i = d.indexOf(':');
  return i >= 0 ? d.slice(0, i + 1) + d.slice(i + 1, i + 13) : d.slice(0, 12);
}

export const STATUSES = ['running', 'suspended', 'completed', 'failed', 'terminated'];
export const isFinished = (s) => s === 'completed' || s === 'failed' || s === 'terminated';

// "kind/key": the kind never contains a slash, the key may.
export function splitActor(ref) {
  const s = String(ref ?? '');
  const i = s.indexOf('/');
  return i < 0 ? { kind: s, key: '' } : { kind: s.slice(0, i), key: s.slice(i + 1) };
}
