// A Backup center session in Debian's Chromium across vault replicas: test/e2e/replicas_test.go
// (TestReplicasBehindABalancer) runs this script at moments of its own. With CAIRN_TOKEN it signs
// in through the balancer and keeps the browser's cookies in CAIRN_STATE; then, in a browser
// holding those cookies (a fresh connection each), it opens the jobs page on every replica named
// in CAIRN_REPLICAS and through the balancer, and checks the session is signed in on each. Prints
// "ok - STEP" or "not ok - STEP: ERROR" per step and exits 1 at the first failure.
//
// Environment (all required but CAIRN_TOKEN and CHROMIUM):
//   CAIRN_UI_URL     the balancer's URL
//   CAIRN_REPLICAS   the replicas' URLs, comma-separated (those running)
//   CAIRN_STATE      the file the browser's cookies are kept in between runs
//   CAIRN_TOKEN      a contributor token: sign in first (the first run)
//   NODE_PATH        the node_modules holding playwright-core (hack/install-browser-tests.sh)
//   CHROMIUM         the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { env, launchChromium } from './lib.mjs';

const ui = env('CAIRN_UI_URL').replace(/\/+$/, '');
const replicas = env('CAIRN_REPLICAS').split(',').map((u) => u.replace(/\/+$/, ''));
const state = env('CAIRN_STATE');
const token = process.env.CAIRN_TOKEN;

const browser = await launchChromium();

let stepNo = 0;
async function step(name, fn) {
  stepNo++;
  try {
    await fn();
    console.log(`ok - ${stepNo}. ${name}`);
  } catch (err) {
    console.log(`not ok - ${stepNo}. ${name}: ${err.message.split('\n')[0]}`);
    await browser.close();
    process.exit(1);
  }
}

// signedInAt opens the jobs page at base in a new browser context holding the kept cookies (new
// connections, so the balancer picks a replica again) and checks who it shows.
async function signedInAt(base) {
  const context = await browser.newContext({ storageState: state });
  try {
    const page = await context.newPage();
    const resp = await page.goto(`${base}/jobs`, { timeout: 30_000 });
    assert.equal(resp.status(), 200, `GET ${base}/jobs: status ${resp.status()}`);
    assert.equal(new URL(page.url()).pathname, '/jobs', `${base}/jobs went to ${page.url()}: the session was not taken`);
    assert.match(await page.locator('#whoami').innerText(), /\bcontributor\b/);
  } finally {
    await context.close();
  }
}

if (token) {
  await step('sign in through the balancer and keep the cookies', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${ui}/signin`);
    await page.locator('#token').fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/');
    assert.match(await page.locator('#whoami').innerText(), /\bcontributor\b/);
    await context.storageState({ path: state });
    await context.close();
  });
}
for (const r of replicas) {
  await step(`the session is signed in on replica ${r}`, () => signedInAt(r));
}
await step('the session is signed in through the balancer', () => signedInAt(ui));
await browser.close();
