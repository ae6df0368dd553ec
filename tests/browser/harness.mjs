// What the browser harnesses share: a headless Chromium on one page, checks
// that fail with a one-line reason, the API from node for setup, and the
// incidents that show an injected script ran or the page broke.
//
//   node tests/browser/<harness>.mjs <base-url> <artifacts-dir> [args…]
//
// Needs `playwright-core` (pinned in package.json; scripts/toolchains
// installs it) and Debian's Chromium at /usr/bin/chromium (or $CHROMIUM):
// playwright-core downloads no browser.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// The machine is shared with compiles: generous waits, but each one is a wait
// for a condition, never a fixed sleep.
const TIMEOUT = 20_000;

class CheckFailed extends Error {}

export function assert(cond, msg) { if (!cond) throw new CheckFailed(msg); }

// Opens the browser and gives `body` what a harness uses; prints the checks
// that passed and exits 0, or prints "FAIL: <reason>" (with a screenshot,
// failure.png) and exits 1.
export async function runHarness(name, usage, body) {
  const [base, artifacts, ...args] = process.argv.slice(2).map((a, i) => (i === 0 ? a.replace(/\/+$/, '') : a));
  if (!base || !artifacts) {
    console.error(`usage: node tests/browser/${name}.mjs <base-url> <artifacts-dir> ${usage}`);
    process.exit(2);
  }
  mkdirSync(artifacts, { recursive: true });
  const t0 = Date.now();
  const passed = [];
  // Debian's Chromium, headless: no sandbox (it runs as root in a container),
  // and nothing that reaches out to the network on its own.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);

  // Anything that would show an injected script ran, or that the page broke:
  // a dialog nobody expected (alert/confirm/prompt), an uncaught exception, a
  // CSP refusal (an inline handler or script that reached the HTML parser).
  const incidents = [];
  let confirmsExpected = 0;
  page.on('dialog', (d) => {
    if (d.type() === 'confirm' && confirmsExpected > 0) {
      confirmsExpected -= 1;
      d.accept().catch(() => {});
      return;
    }
    incidents.push(`dialog ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => incidents.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) incidents.push(`console: ${m.text()}`);
  });

  const h = {
    base, artifacts, args, page, assert,
    // Runs one check; its failure becomes the one-line reason for exiting.
    async check(what, fn) {
      try {
        await fn();
      } catch (e) {
        const why = e instanceof CheckFailed ? e.message : String(e.message || e).split('\n')[0];
        throw new CheckFailed(`${what}: ${why}`);
      }
      passed.push(what);
    },
    noIncidents: () => assert(incidents.length === 0, incidents[0]),
    // The next confirm() the page shows is the person saying yes.
    expectConfirm: () => { confirmsExpected += 1; },
    // The API from node, for the setup the dashboard is not being tested on.
    async api(method, path, body, type = 'application/json') {
      const raw = body instanceof Uint8Array;
      const res = await fetch(base + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': raw ? 'application/wasm' : type },
        body: body === undefined ? undefined : (raw ? body : JSON.stringify(body)),
      });
      const text = await res.text();
      return { status: res.status, data: text ? JSON.parse(text) : null };
    },
    instPath: (id) => '/api/instances/' + encodeURIComponent(id),
    shot: (file) => page.screenshot({ path: join(artifacts, file), fullPage: true }),
    // A confirmation toast: it must show, then it is dismissed as a person
    // would, so that it does not cover the page in the screenshot.
    async toast(text) {
      const t = page.locator('#toasts .msg', { hasText: text });
      await t.waitFor();
      await t.getByRole('button', { name: 'Dismiss' }).click();
      await t.waitFor({ state: 'detached' });
    },
    goto: async (hash) => { await page.goto(`${base}/${hash}`); },
    heading: (root, text) => root.filter({ has: page.locator('h2', { hasText: text }) }),
  };

  try {
    await body(h);
  } catch (e) {
    const reason = e instanceof CheckFailed ? e.message : `unexpected: ${String(e.message || e).split('\n')[0]}`;
    await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
    console.log(`FAIL: ${reason}`);
    await browser.close();
    process.exit(1);
  }
  await browser.close();
  console.log(`${name}: ${passed.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s (screenshots in ${artifacts})`);
  for (const p of passed) console.log(`  ok  ${p}`);
}
