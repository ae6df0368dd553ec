// The lifetime of a rendered page: its requests, timers and pollers.
import { reportError } from './messages.js';

// Each rendered page gets a context; leaving the page aborts its requests
// and stops its timers.
export function newContext() {
  const ctrl = new AbortController();
  const ctx = {
    alive: true,
    signal: ctrl.signal,
    cleanups: [],
    dispose() { ctx.alive = false; ctrl.abort(); ctx.cleanups.forEach((f) => f()); },
    // Run fn every ms while the tab is visible, never two at once.
    every(ms, fn) {
      let timer = null;
      let running = false;
      const run = async () => {
        if (!ctx.alive || running || document.hidden) return;
        running = true;
        try { await fn(); } catch (e) { if (ctx.alive) reportError(e); }
        running = false;
      };
      const loop = () => { timer = setTimeout(async () => { await run(); if (ctx.alive) loop(); }, ms); };
      const onVis = () => { if (!document.hidden) run(); };
      document.addEventListener('visibilitychange', onVis);
      ctx.cleanups.push(() => { clearTimeout(timer); document.removeEventListener('visibilitychange', onVis); });
      loop();
    },
    sleep(ms) {
      return new Promise((resolve) => {
        const t = setTimeout(resolve, ms);
        ctrl.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
    },
    // Await a request, swallowing errors of a page already left.
    async guard(promise) {
      try { return await promise; } catch (e) { if (ctx.alive) reportError(e); return null; }
    },
  };
  return ctx;
}
