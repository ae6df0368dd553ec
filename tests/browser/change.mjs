// Live work through change, in the dashboard: new code, an upgrade plan
// and its apply button, a fork from an event of the timeline, and a rewind.
//
//   node tests/browser/change.mjs <base-url> <artifacts-dir> <v2.wasm> <v3.wasm> <pricing.wasm> <shipping.wasm>
//
// Precondition: a fresh `reprise serve` at <base-url> with the approval
// example and the orders component uploaded; v2 and v3 are the approval's
// next versions (v2 compatible with the live approvals, v3 not), pricing and
// shipping the components of the activities an order calls.
//
// Three approvals wait for their manager on the first version. v3 is
// registered through the API, v2 through the Components page's form; the
// page shows the instances on each version, v3's plan (every one diverges,
// nothing to move) and v2's (every one compatible), and v2's apply button
// moves them. Then a moved approval is forked from an event of its timeline
// (the fork's page names its source), and an order that failed because its
// pricing component was not deployed is rewound from its page once it is,
// and completes. The Components page also shows the limits the server puts
// on price_order. Screenshots go to <artifacts-dir>.
import { readFileSync } from 'node:fs';
import { runHarness } from './harness.mjs';

const usage = '<v2.wasm> <v3.wasm> <pricing.wasm> <shipping.wasm>';
await runHarness('change', usage, async ({ args, page, check, assert, api, instPath, shot, toast, goto, noIncidents, expectConfirm }) => {
  const [v2File, v3File, pricingFile, shippingFile] = args;
  assert(shippingFile, `usage: change.mjs <base-url> <artifacts-dir> ${usage}`);
  const upload = async (file) => {
    const r = await api('POST', '/api/components', new Uint8Array(readFileSync(file)));
    assert(r.status === 201, `uploading ${file} answered ${r.status}: ${JSON.stringify(r.data)}`);
    return r.data.digest;
  };
  const approvals = ['ap-1', 'ap-2', 'ap-3'];
  const componentRow = (digest) => page.locator(`table.components tr[data-digest="${digest}"]`);
  let v1 = null;
  let v3 = null;

  await check('three approvals wait for their manager on the first version', async () => {
    for (const id of approvals) {
      const r = await api('POST', '/api/instances', { orchestration: 'approval', instance_id: id, input: { item: 'desk', amount: 300, timeout_secs: 3600 } });
      assert(r.status === 202, `starting ${id} answered ${r.status}`);
    }
    for (const id of approvals) {
      // Long polls until the instance has asked its manager.
      for (let r = await api('GET', instPath(id)); r.data.custom_status !== 'waiting for manager'; r = await api('GET', `${instPath(id)}?wait_ms=500`)) {
        assert(r.data.status === 'running', `${id} is ${r.data.status}`);
      }
    }
    v1 = (await api('GET', instPath('ap-1'))).data.digest;
    v3 = await upload(v3File);
  });

  await check('the Components page shows what runs on each version', async () => {
    await goto('#/components');
    const row = componentRow(v1);
    await row.locator('td.counts .count', { hasText: '3' }).filter({ has: page.locator('.badge', { hasText: 'running' }) }).waitFor();
    // v3 is the newest registration of approval: v1's is superseded.
    await row.locator('.export.superseded', { hasText: 'approval' }).waitFor();
    await componentRow(v3).locator('.export:not(.superseded)', { hasText: 'approval' }).waitFor();
    await componentRow(v3).locator('td.counts', { hasText: 'none' }).waitFor();
    noIncidents();
  });

  await check("the Components page shows the activities' limits", async () => {
    // The server limits price_order (harnesses.rs): nothing waits or runs yet.
    const row = page.locator('section.activities tr[data-activity="price_order"]');
    await row.locator('td.limits', { hasText: '2 at once · 10 per 1 s' }).waitFor();
    assert((await row.locator('td.count-waiting').textContent()) === '0', 'nothing waits');
    assert((await row.locator('td.count-running').textContent()) === '0', 'nothing runs');
  });

  let v2 = null;
  await check('register v2 from the page', async () => {
    await page.getByLabel('Register a component (.wasm)').setInputFiles(v2File);
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await toast('Registered');
    const listed = (await api('GET', '/api/components')).data.components;
    v2 = listed[listed.length - 1].digest;
    assert(v2 !== v3 && v2 !== v1, 'the newest component is v2');
    await componentRow(v2).waitFor();
    await componentRow(v3).locator('.export.superseded', { hasText: 'approval' }).waitFor();
  });
  await shot('1-components.png');

  const plan = page.locator('section.plan');
  await check("v3's plan: every approval diverges, nothing to move", async () => {
    await componentRow(v3).getByRole('button', { name: 'Plan upgrade' }).click();
    await plan.locator('h2', { hasText: 'Upgrade plan for' }).waitFor();
    await plan.locator('.totals', { hasText: '0 compatible · 3 diverge · 0 fail' }).waitFor();
    for (const id of approvals) {
      await plan.locator(`tr[data-instance="${id}"] .verdict`, { hasText: 'diverges at #' }).waitFor();
    }
    const move = plan.getByRole('button', { name: 'Nothing to move' });
    assert(await move.isDisabled(), 'the apply button of a plan with nothing compatible is disabled');
  });
  await shot('2-plan-diverges.png');

  await check("v2's plan moves every approval when applied", async () => {
    await componentRow(v2).getByRole('button', { name: 'Plan upgrade' }).click();
    await plan.locator('.totals', { hasText: '3 compatible · 0 diverge · 0 fail' }).waitFor();
    expectConfirm();
    await plan.getByRole('button', { name: 'Move 3 compatible instances' }).click();
    await toast('Moved 3 instances');
    for (const id of approvals) await plan.locator(`tr[data-instance="${id}"] .outcome`, { hasText: 'moved' }).waitFor();
    // The list follows: the approvals run on v2 now.
    await componentRow(v2).locator('td.counts .count', { hasText: '3' }).waitFor();
    await componentRow(v1).locator('td.counts', { hasText: 'none' }).waitFor();
    for (const id of approvals) {
      const r = await api('GET', instPath(id));
      assert(r.data.digest === v2, `${id} runs ${r.data.digest}, not v2`);
    }
    noIncidents();
  });
  await shot('3-upgrade-applied.png');

  let fork = null;
  await check('fork a moved approval from an event of its timeline', async () => {
    await goto('#/instances/ap-1');
    const upgraded = page.locator('section.timeline li.ev', { has: page.locator('.ev-type', { hasText: 'Upgraded' }) });
    await upgraded.waitFor();
    const seq = Number((await upgraded.locator('.ev-seq').textContent()).replace('#', ''));
    await upgraded.hover();
    await upgraded.getByRole('button', { name: 'Fork' }).click();
    await page.waitForURL((url) => !url.hash.endsWith('/ap-1'));
    fork = decodeURIComponent(new URL(page.url()).hash.replace('#/instances/', ''));
    await toast(`Forked ap-1 after #${seq}`);
    const lineage = page.locator('.inst-head a.lineage', { hasText: 'ap-1' });
    await lineage.waitFor();
    await page.locator('.inst-head', { hasText: `after #${seq}` }).waitFor();
    const history = (await api('GET', `${instPath(fork)}/history`)).data.events;
    const marker = history.find((e) => e.type === 'forked');
    assert(marker && marker.instance_id === 'ap-1' && marker.event === seq, `the fork's history marks ${JSON.stringify(marker)}`);
    const original = (await api('GET', `${instPath('ap-1')}/history`)).data.events;
    assert(!original.some((e) => e.type === 'forked'), 'the original is untouched');
    noIncidents();
  });
  await shot('4-fork.png');

  await check('the fork answers to its own events and runs v2 to the end', async () => {
    const raised = await api('POST', `${instPath(fork)}/events/approval`, { approved: true, by: 'dana' });
    assert(raised.status === 202, `raising approval on the fork answered ${raised.status}`);
    await page.locator('.inst-head .badge', { hasText: 'completed' }).waitFor();
    const done = (await api('GET', instPath(fork))).data;
    assert(done.digest === v2, `the fork ran ${done.digest}`);
    const source = (await api('GET', instPath('ap-1'))).data;
    assert(source.status === 'running', `ap-1 is ${source.status}: the fork's event reached it`);
    await page.locator('.inst-head a.lineage').click();
    await page.locator('h1.id-title', { hasText: 'ap-1' }).waitFor();
  });

  const order = { id: 'O-7', lines: [{ sku: 'tea', quantity: 2, unit_cents: 450 }], coupon: null, address: '1 Quay St, Oslo' };
  await check('an order placed before its pricing was deployed fails, and its page offers a rewind', async () => {
    const r = await api('POST', '/api/instances', { orchestration: 'place_order', instance_id: 'order-7', input: order });
    assert(r.status === 202, `starting place_order answered ${r.status}`);
    await goto('#/instances/order-7');
    await page.locator('.inst-head .badge', { hasText: 'failed' }).waitFor();
    await page.locator('section.failure-card', { hasText: 'price_order' }).waitFor();
    await page.getByRole('button', { name: 'Rewind' }).waitFor();
  });
  await shot('5-failed.png');

  await check('rewound once pricing and shipping are deployed, the order completes', async () => {
    await upload(pricingFile);
    await upload(shippingFile);
    expectConfirm();
    await page.getByRole('button', { name: 'Rewind' }).click();
    await toast('Rewound: task #');
    await page.locator('.inst-head .badge', { hasText: 'completed' }).waitFor();
    await page.locator('section.data', { hasText: 'TRK-O-7' }).waitFor();
    await page.getByRole('button', { name: 'Rewind' }).waitFor({ state: 'hidden' });
    const events = (await api('GET', `${instPath('order-7')}/history`)).data.events;
    assert(events.some((e) => e.type === 'rewound'), 'the history keeps what the rewind cut');
    noIncidents();
  });
  await shot('6-rewound.png');
});
