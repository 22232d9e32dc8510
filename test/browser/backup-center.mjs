// The Backup center's browser test: drives the vault's web dashboard in Debian's Chromium with
// playwright-core. test/e2e/backup_center_test.go (TestBackupCenter) seeds a real vault and agent
// and runs this script; it prints "ok - STEP" or "not ok - STEP: ERROR" per step and exits 1 at
// the first failure, after saving failure.png. No test framework: node:assert and plain steps.
//
// Environment (all required but CHROMIUM):
//   CAIRN_UI_URL           the vault's URL (the UI at /, the API at /api/v1)
//   CAIRN_OPERATOR_TOKEN   an operator token; CAIRN_READER_TOKEN a reader token
//   CAIRN_OTHER_VAULT_TOKEN an operator token of another vault of the server, named staging
//   CAIRN_FAILED_JOB       the id of a failed backup job with log lines
//   CAIRN_INSTANCE         an instance with recovery point CAIRN_RECOVERY_POINT, of namespace CAIRN_NAMESPACE
//   CAIRN_COPY_POINT       a recovery point whose volume CAIRN_COPY_VOLUME (NAMESPACE/CLAIM) has a copy
//                          holding file CAIRN_COPY_FILE at its root, whose content is CAIRN_COPY_CONTENT
//                          (and a newline)
//   CAIRN_SCREENSHOTS      the folder the screenshots go to
//   NODE_PATH              the node_modules holding playwright-core (hack/install-browser-tests.sh)
//   CHROMIUM               the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, launchChromium } from './lib.mjs';

const ui = env('CAIRN_UI_URL').replace(/\/+$/, '');
const operatorToken = env('CAIRN_OPERATOR_TOKEN');
const readerToken = env('CAIRN_READER_TOKEN');
const otherVaultToken = env('CAIRN_OTHER_VAULT_TOKEN');
const failedJob = env('CAIRN_FAILED_JOB');
const instance = env('CAIRN_INSTANCE');
const recoveryPoint = env('CAIRN_RECOVERY_POINT');
const namespace = env('CAIRN_NAMESPACE');
const shots = env('CAIRN_SCREENSHOTS');
const copyPoint = env('CAIRN_COPY_POINT');
const copyVolume = env('CAIRN_COPY_VOLUME');
const copyFile = env('CAIRN_COPY_FILE');
const copyContent = env('CAIRN_COPY_CONTENT');
mkdirSync(shots, { recursive: true });

// A job the browser started has this long to succeed (the agent runs it for real).
const jobTimeout = 3 * 60 * 1000;
const viewport = { width: 1280, height: 800 };

const browser = await launchChromium();
console.log(`# ${browser.browserType().name()} ${browser.version()} against ${ui}`);

// Every request any page makes, to check at the end that none left the vault (no CDN).
const foreign = new Set();
async function newPage() {
  const context = await browser.newContext({ baseURL: ui, viewport });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const p = await context.newPage();
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== ui && !['data:', 'blob:', 'about:'].includes(u.protocol)) foreign.add(r.url());
  });
  p.on('pageerror', (err) => console.log(`# page error on ${p.url()}: ${err.message}`));
  p.on('console', (m) => { if (m.type() === 'error') console.log(`# console error on ${p.url()}: ${m.text()}`); });
  return p;
}

let page = await newPage();
let stepNo = 0;

async function step(name, fn) {
  stepNo++;
  const label = `${stepNo}. ${name}`;
  try {
    await fn();
    console.log(`ok - ${label}`);
  } catch (err) {
    const [first, ...rest] = String(err?.message ?? err).split('\n');
    console.log(`not ok - ${label}: ${first}`);
    for (const line of rest) if (line.trim()) console.log(`#   ${line}`);
    console.log(`# at ${page.url()}`);
    try {
      await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true });
      console.log(`# screenshot: ${join(shots, 'failure.png')}`);
    } catch (e) {
      console.log(`# no failure screenshot: ${e.message}`);
    }
    await browser.close().catch(() => {});
    process.exit(1);
  }
}

async function screenshot(name) {
  await page.screenshot({ path: join(shots, name), fullPage: true });
}

const path = () => new URL(page.url()).pathname;

// goto opens a page of the UI and insists on a 200.
async function goto(p) {
  const resp = await page.goto(p);
  assert.ok(resp, `no response for ${p}`);
  assert.equal(resp.status(), 200, `GET ${p}: status ${resp.status()}`);
  assert.equal(path(), new URL(p, ui).pathname, `GET ${p} ended at ${page.url()}`);
}

async function text(selector) {
  const loc = page.locator(selector);
  assert.equal(await loc.count(), 1, `${selector}: ${await loc.count()} elements, want 1`);
  return (await loc.textContent()).trim();
}

async function exactlyOne(selector) {
  const n = await page.locator(selector).count();
  assert.equal(n, 1, `${selector}: ${n} elements, want 1`);
}

// waitForJob waits on a job's page, without reloading it (htmx polls every 2 s), until #job-state
// reads want; any other final state fails at once.
async function waitForJob(want) {
  const state = page.locator('#job-state');
  const deadline = Date.now() + jobTimeout;
  let last = '';
  for (;;) {
    last = ((await state.textContent({ timeout: 5_000 }).catch(() => '')) ?? '').trim();
    if (last === want) return;
    assert.ok(!['failed', 'partially-failed', 'cancelled', 'succeeded'].includes(last),
      `job ${path()} ended ${last}, want ${want}`);
    assert.ok(Date.now() < deadline, `job ${path()} still "${last}" after ${jobTimeout / 1000} s, want ${want}`);
    await page.waitForTimeout(500);
  }
}

async function signIn(token) {
  const field = page.getByLabel('API token', { exact: true });
  assert.equal(await field.count(), 1, 'one field labelled "API token"');
  for (const [attr, want] of [['id', 'token'], ['name', 'token'], ['type', 'password']]) {
    assert.equal(await field.getAttribute(attr), want, `the API token field's ${attr}`);
  }
  await field.fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

async function noActions(p) {
  await goto(p);
  const actions = page.locator('[data-action]');
  const n = await actions.count();
  const what = n ? await actions.evaluateAll((els) => els.map((e) => `<${e.tagName.toLowerCase()} data-action="${e.dataset.action}">`)) : [];
  assert.equal(n, 0, `a reader sees ${n} action(s) on ${p}: ${what.join(', ')}`);
}

await step('GET / signed out redirects to /signin; the operator signs in and lands on the overview', async () => {
  const resp = await page.goto('/');
  assert.equal(resp.status(), 200, `GET / ended with status ${resp.status()}`);
  assert.equal(path(), '/signin', `GET / signed out ended at ${page.url()}`);
  assert.ok(resp.request().redirectedFrom(), 'GET / was not redirected');
  await signIn(operatorToken);
  assert.match(await text('#whoami'), /\boperator\b/);
  await screenshot('overview.png');
});

await step('the overview lists the failed job first among the last 24 hours\' jobs', async () => {
  const rows = page.locator('section#jobs-24h table#recent-jobs tr[data-job-id][data-state]');
  const n = await rows.count();
  assert.ok(n >= 2, `${n} job rows, want the seeded backup and the failed one at least`);
  const row = page.locator(`section#jobs-24h table#recent-jobs tr[data-job-id="${failedJob}"]`);
  assert.equal(await row.count(), 1, `no row for job ${failedJob}`);
  assert.equal(await row.getAttribute('data-state'), 'failed');
  assert.equal(await rows.first().getAttribute('data-job-id'), failedJob, 'the failed job is not the first row');
  for (const s of ['section#compliance', 'section#next-backups', 'section#usage']) await exactlyOne(s);
  await exactlyOne('#rpo-card');
});

await step('the failed job\'s page shows its state and log lines', async () => {
  await page.locator(`tr[data-job-id="${failedJob}"] a`).first().click();
  await page.waitForURL((u) => u.pathname === `/jobs/${failedJob}`);
  assert.equal(await text('#job-state'), 'failed');
  const lines = await page.locator('#job-logs .log-line').count();
  assert.ok(lines >= 1, `${lines} log lines in #job-logs`);
  await screenshot('job-failed.png');
});

await step('the instance page shows its charts and recovery points; back up now runs to success', async () => {
  await goto(`/instances/${encodeURIComponent(instance)}`);
  for (const s of ['svg#chart-success', 'svg#chart-duration', 'svg#chart-storage', 'table#recovery-points']) await exactlyOne(s);
  // Its seeded backup succeeded within the hour: the 2h objective of an hourly policy is met.
  assert.match(await text('#rpo'), /^2h: met; last good backup /, 'the instance page does not show its recovery point objective met');
  // Its seeded recovery point was test-restored: the page says it passed, how long it took, and each check.
  assert.match(await text('#test-restore'), /^passed .+ in (\d+m)?\d+(\.\d+)?s/, 'the instance page does not show its last test restore passed');
  await exactlyOne('#test-restore li[data-check="pods-ready"]');
  await exactlyOne('#test-restore li[data-check="cleanup"]');
  await screenshot('instance.png');
  await page.locator('button[data-action="backup-now"]').click();
  await page.waitForURL((u) => /^\/jobs\/\d+$/.test(u.pathname) && u.pathname !== `/jobs/${failedJob}`);
  console.log(`# backup now: ${path()}`);
  await waitForJob('succeeded');
  await screenshot('job-backup.png');
});

await step('a restore dry run with namespace mapping from the recovery point runs to success and shows its diff', async () => {
  await goto(`/recovery-points/${encodeURIComponent(recoveryPoint)}`);
  await page.locator('a[data-action="restore"]').click();
  await page.waitForURL((u) => u.pathname === '/restore' && u.searchParams.get('recoveryPoint') === recoveryPoint);
  // field finds the one form control labelled label and checks its element and name.
  const field = async (label, tags, name) => {
    const f = page.getByLabel(label, { exact: true });
    assert.equal(await f.count(), 1, `one field labelled "${label}"`);
    const tag = await f.evaluate((e) => e.tagName.toLowerCase());
    assert.ok(tags.includes(tag), `"${label}" is a ${tag}, want ${tags.join(' or ')}`);
    assert.equal(await f.getAttribute('name'), name, `the name of "${label}"`);
    return f;
  };
  const textual = ['input', 'textarea'];
  const options = (f) => f.evaluate((e) => [...e.options].map((o) => o.value));
  await field('Target cluster', ['select'], 'targetCluster');
  await field('Namespaces', textual, 'namespaces');
  const mapping = await field('Namespace mapping', textual, 'namespaceMapping');
  const conflict = await field('Conflict policy', ['select'], 'conflictPolicy');
  assert.deepEqual((await options(conflict)).sort(), ['patch', 'recreate', 'skip']);
  const volumes = await field('Volume data', ['select'], 'volumes');
  assert.deepEqual((await options(volumes)).sort(), ['data', 'empty', 'skip']);
  await field('Restore hooks', [...textual, 'select'], 'restoreHooks');
  const dryRun = await field('Dry run', ['input'], 'dryRun');
  assert.equal(await dryRun.getAttribute('type'), 'checkbox');
  assert.ok(await dryRun.isChecked(), 'Dry run is not checked by default');
  await mapping.fill(`${namespace}=${namespace}-copy`);
  await page.locator('button[data-action="restore"]').click();
  await page.waitForURL((u) => /^\/jobs\/\d+$/.test(u.pathname));
  console.log(`# restore dry run: ${path()}`);
  await waitForJob('succeeded');
  const diff = page.locator('#restore-diff');
  await diff.waitFor({ state: 'visible' });
  const items = await page.locator('#restore-diff .restore-item').allTextContents();
  assert.ok(items.length >= 1, 'no .restore-item in #restore-diff');
  const created = items.filter((t) => /\bcreate\b/i.test(t) && t.includes(`${namespace}-copy`));
  assert.ok(created.length >= 1, `no item to create in ${namespace}-copy among: ${items.map((t) => t.replace(/\s+/g, ' ').trim()).join(' | ')}`);
  await screenshot('restore-dry-run.png');
  for (const [p, name] of [['/jobs', 'jobs.png'], ['/clusters', 'clusters.png'], ['/recovery-points', 'recovery-points.png'],
    ['/audit', 'audit.png'], ['/policies', 'policies.png']]) {
    await goto(p);
    await screenshot(name);
  }
});

await step('a volume\'s copy is browsed and one file of it downloaded through the agent', async () => {
  await goto(`/recovery-points/${encodeURIComponent(copyPoint)}`);
  await page.locator('a[data-action="browse-files"]').click();
  const [ns, claim] = copyVolume.split('/');
  await page.waitForURL((u) => u.pathname === `/recovery-points/${copyPoint}/files/${ns}/${claim}`, { timeout: 60_000 });
  const row = page.locator(`#files tr[data-name="${copyFile}"]`);
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  assert.match(await text('nav.breadcrumbs'), new RegExp(`${ns}/${claim}`));
  await screenshot('browse-files.png');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 90_000 }),
    row.locator('button[data-action="download"]').click(),
  ]);
  assert.equal(download.suggestedFilename(), copyFile);
  const got = readFileSync(await download.path(), 'utf8');
  assert.equal(got.trim(), copyContent, `the downloaded ${copyFile}`);
});

await step('a reader sees no action and a forged one is refused', async () => {
  await page.locator('header').getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/signin');
  await signIn(readerToken);
  assert.match(await text('#whoami'), /\breader\b/);
  for (const p of ['/', `/jobs/${failedJob}`, `/recovery-points/${encodeURIComponent(recoveryPoint)}`,
    `/recovery-points/${encodeURIComponent(copyPoint)}`, `/instances/${encodeURIComponent(instance)}`]) await noActions(p);
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
  assert.ok(csrf, 'no csrf-token meta element');
  const resp = await page.request.post(`/instances/${encodeURIComponent(instance)}/backup`,
    { form: { csrf }, headers: { Origin: ui }, maxRedirects: 0 });
  assert.equal(resp.status(), 403, `the reader's forged backup: status ${resp.status()}`);
  await screenshot('reader-instance.png');
});

await step('a second vault is added with its token, summed on All vaults, and switched to and back from the header', async () => {
  const first = await page.locator('#whoami').getAttribute('title');
  await goto('/vaults');
  await page.locator('#add-vault input[name="token"]').fill(otherVaultToken);
  await page.locator('#add-vault').getByRole('button', { name: 'Add vault' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(await page.locator('#whoami').getAttribute('title'), 'vault staging');
  assert.match(await text('#whoami'), /\boperator\b/);
  assert.equal(await page.locator('#vault-choice option').count(), 2, 'the header\'s vault menu');
  await goto('/vaults');
  await exactlyOne('tr[data-vault="staging"]');
  const original = first.replace(/^vault /, '');
  const row = page.locator(`tr[data-vault="${original}"]`);
  assert.equal(await row.count(), 1, `no line for vault ${original}`);
  assert.ok(Number(await row.locator('td[data-failed]').getAttribute('data-failed')) >= 1, `${original} shows no failed job`);
  await exactlyOne('#vaults-total');
  await screenshot('all-vaults.png');
  await page.locator('#vault-choice').selectOption(original);
  await page.locator('#vault-switch').getByRole('button', { name: 'Switch' }).click();
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(await page.locator('#whoami').getAttribute('title'), first);
  assert.match(await text('#whoami'), /\breader\b/);
});

await step('dark mode changes the page\'s background', async () => {
  await goto('/');
  await page.emulateMedia({ colorScheme: 'light' });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background();
  assert.notEqual(dark, light, `body background ${light} in both colour schemes`);
  console.log(`# body background: light ${light}, dark ${dark}`);
  await screenshot('overview-dark.png');
});

await step('the sign-in form works from the keyboard', async () => {
  await page.context().close();
  page = await newPage();
  await goto('/signin');
  // focused names what has the focus: the token field, the Sign in button, or something else.
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    if (e?.id === 'token') return 'token';
    if (e?.tagName === 'BUTTON' && e.textContent.trim() === 'Sign in') return 'button';
    return e ? `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}` : 'nothing';
  });
  // The order in which the two gain focus: from where the page put it (autofocus), then by Tab.
  const order = [];
  for (let i = 0; i <= 30 && !order.includes('button'); i++) {
    if (i > 0) await page.keyboard.press('Tab');
    const f = await focused();
    if ((f === 'token' || f === 'button') && !order.includes(f)) order.push(f);
  }
  assert.deepEqual(order, ['token', 'button'], 'the order in which Tab reaches the token field and the Sign in button');
  for (let i = 0; i < 30 && (await focused()) !== 'token'; i++) await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(), 'token', 'Shift+Tab does not lead back to the token field');
  await page.keyboard.type(operatorToken);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/');
  assert.match(await text('#whoami'), /\boperator\b/);
});

await step('no page requested anything from another origin', async () => {
  assert.deepEqual([...foreign], []);
});

await browser.close();
console.log(`# screenshots in ${shots}`);
