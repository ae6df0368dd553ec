// The API client: every request the dashboard makes goes through api(), with
// the token when there is one, and fails with the server's own error.
import { truncate } from './format.js';
import { token } from './token.js';

const enc = encodeURIComponent;

export const apiPath = {
  instances: '/api/instances',
  instance: (id) => '/api/instances/' + enc(id),
  history: (id) => apiPath.instance(id) + '/history',
  waiting: (id) => apiPath.instance(id) + '/waiting',
  event: (id, name) => apiPath.instance(id) + '/events/' + enc(name),
  action: (id, what) => apiPath.instance(id) + '/' + what,
  actors: (kind) => '/api/actors/' + enc(kind),
  actor: (kind, key) => '/api/actors/' + enc(kind) + '/' + enc(key),
  signal: (kind, key, op) => apiPath.actor(kind, key) + '/signal/' + enc(op),
  call: (kind, key, op) => apiPath.actor(kind, key) + '/call/' + enc(op),
  components: '/api/components',
  activities: '/api/activities',
  upgradePlan: (digest) => '/api/components/' + enc(digest) + '/upgrade-plan',
  upgrade: (digest) => '/api/components/' + enc(digest) + '/upgrade',
};

export const isAbort = (e) => e && e.name === 'AbortError';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// api('GET', path, {query, body, signal}) -> {status, data}. Throws ApiError
// carrying the server's {"error":{...}} fields.
export async function api(method, path, opts = {}) {
  const json = opts.body !== undefined ? { type: 'application/json', bytes: JSON.stringify(opts.body) } : undefined;
  return request(method, path, opts, json);
}

// POSTs raw bytes (a component) to `path`; `opts` as for api(), its other
// keys than `signal` going into the query.
export async function upload(path, bytes, opts = {}) {
  const { signal, ...query } = opts;
  return request('POST', path, { signal, query }, { type: 'application/wasm', bytes });
}

async function request(method, path, opts, body) {
  let url = path;
  if (opts.query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    if (s) url += '?' + s;
  }
  const headers = { Accept: 'application/json' };
  const t = token.get();
  if (t) headers.Authorization = 'Bearer ' + t;
  const init = { method, headers, signal: opts.signal, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = body.type;
    init.body = body.bytes;
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
  if (!res.ok) {
    const err = data && typeof data.error === 'object' && data.error ? data.error : {};
    const message = typeof err.message === 'string' && err.message ? err.message
      : (text && !data ? truncate(text.trim(), 300) : `HTTP ${res.status} ${res.statusText}`.trim());
    if (res.status === 401) token.ask();
    throw new ApiError(res.status, err.code || `http_${res.status}`, message, err.details);
  }
  return { status: res.status, data, headers: res.headers };
}

// The component list changes rarely: ask once per page load, or again
// after a registration.
let componentsPromise = null;
export function forgetComponents() { componentsPromise = null; }
export function components() {
  if (!componentsPromise) {
    componentsPromise = api('GET', '/api/components')
      .then((r) => (r.data && Array.isArray(r.data.components) ? r.data.components : []))
      .catch((e) => { componentsPromise = null; throw e; });
  }
  return componentsPromise;
}
