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
    // Run fn every ms while the tab is visible, never two at once, until
    // the page is left or the function returned is called.
    every(ms, fn) {
      let timer = null;
      let running = false;
      let stopped = false;
      const run = async () => {
        if (!ctx.alive || stopped || running || document.hidden) return;
        running = true;
        try { await fn(); } catch (e) { if (ctx.alive) reportError(e); }
        running = false;
      };
      const loop = () => { timer = setTimeout(async () => { await run(); if (ctx.alive && !stopped) loop(); }, ms); };
      const onVis = () => { if (!document.hidden) run(); };
      const stop = () => { stopped = true; clearTimeout(timer); document.removeEventListener('visibilitychange', onVis); };
      document.addEventListener('visibilitychange', onVis);
      ctx.cleanups.push(stop);
      loop();
      return stop;
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
