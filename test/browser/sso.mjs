// The Backup center's single sign-on in Debian's Chromium with playwright-core: the authorization
// code flow with PKCE through a real OpenID provider's login page. test/e2e/sso_test.go
// (TestBackupCenterSSO) starts the provider (internal/oidctest) and a vault with --oidc-config and
// runs this script; it prints "ok - STEP" or "not ok - STEP: ERROR" per step and exits 1 at the
// first failure, after saving sso-failure.png. Same conventions as backup-center.mjs.
//
// Environment (all required but CHROMIUM):
//   CAIRN_UI_URL        the vault's URL
//   CAIRN_IDP_URL       the OpenID provider's issuer URL (its login page is at /login/username)
//   CAIRN_IDP_NAME      the provider's name on the sign-in button
//   CAIRN_ADMIN_USER, CAIRN_ADMIN_PASSWORD     a person whose groups make them a contributor
//   CAIRN_ADMIN_EMAIL                          their email (the header shows it)
//   CAIRN_VIEWER_USER, CAIRN_VIEWER_PASSWORD   a person whose groups make them a reader
//   CAIRN_VIEWER_EMAIL                         their email
//   CAIRN_STRANGER_USER, CAIRN_STRANGER_PASSWORD  a person in no mapped group
//   CAIRN_SCREENSHOTS   the folder the screenshots go to
//   NODE_PATH           the node_modules holding playwright-core (hack/install-browser-tests.sh)
//   CHROMIUM            the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { env, launchChromium } from './lib.mjs';

const ui = env('CAIRN_UI_URL').replace(/\/+$/, '');
const idp = env('CAIRN_IDP_URL').replace(/\/+$/, '');
const idpName = env('CAIRN_IDP_NAME');
const admin = { user: env('CAIRN_ADMIN_USER'), password: env('CAIRN_ADMIN_PASSWORD'), email: env('CAIRN_ADMIN_EMAIL') };
const viewer = { user: env('CAIRN_VIEWER_USER'), password: env('CAIRN_VIEWER_PASSWORD'), email: env('CAIRN_VIEWER_EMAIL') };
const stranger = { user: env('CAIRN_STRANGER_USER'), password: env('CAIRN_STRANGER_PASSWORD') };
const shots = env('CAIRN_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

const browser = await launchChromium();
console.log(`# ${browser.browserType().name()} ${browser.version()} against ${ui}, provider ${idp}`);

// Every request, to check at the end that none went anywhere but the vault and the provider.
const foreign = new Set();
async function newPage() {
  const context = await browser.newContext({ baseURL: ui, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const p = await context.newPage();
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== ui && u.origin !== idp && !['data:', 'blob:', 'about:'].includes(u.protocol)) foreign.add(r.url());
  });
  p.on('pageerror', (err) => console.log(`# page error on ${p.url()}: ${err.message}`));
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
      await page.screenshot({ path: join(shots, 'sso-failure.png'), fullPage: true });
      console.log(`# screenshot: ${join(shots, 'sso-failure.png')}`);
    } catch (e) {
      console.log(`# no failure screenshot: ${e.message}`);
    }
    await browser.close().catch(() => {});
    process.exit(1);
  }
}

const path = () => new URL(page.url()).pathname;

async function text(selector) {
  const loc = page.locator(selector);
  assert.equal(await loc.count(), 1, `${selector}: ${await loc.count()} elements, want 1`);
  return (await loc.textContent()).trim();
}

// signInWithSSO clicks the sign-in page's single sign-on button and fills the provider's login
// form as person; the browser comes back to the vault by itself.
async function signInWithSSO(person) {
  assert.equal(path(), '/signin', `not on the sign-in page but ${page.url()}`);
  await page.getByRole('link', { name: `Sign in with ${idpName}`, exact: true }).click();
  await page.waitForURL((u) => u.origin === idp && u.pathname === '/login/username');
  await page.getByLabel('Username').fill(person.user);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.origin === ui && u.pathname !== '/signin/sso/callback');
}

await step('GET / signed out goes to /signin, whose button signs the administrator in through the provider onto the overview', async () => {
  await page.goto('/');
  assert.equal(path(), '/signin');
  await signInWithSSO(admin);
  assert.equal(path(), '/', `signed in, but at ${page.url()}`);
  assert.equal(await text('#whoami'), `${admin.email} · contributor`);
  assert.equal(await page.getByRole('link', { name: 'Tokens', exact: true }).count(), 1, 'a contributor sees the Tokens page');
  await page.screenshot({ path: join(shots, 'sso-overview.png'), fullPage: true });
});

await step('the Tokens page lists the single sign-on token; signing out revokes it', async () => {
  await page.goto('/tokens');
  const row = page.locator('tr', { hasText: `oidc:${admin.email}:` });
  assert.equal(await row.count(), 1, 'one single sign-on token of the administrator');
  assert.equal((await row.locator('td').nth(2).textContent()).trim(), 'sso', 'its kind');
  await page.locator('header').getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/signin');
  await page.goto('/');
  assert.equal(path(), '/signin', 'signed out, the overview asks to sign in again');
});

await step('a reader signs in from a deep link and comes back to it, without the contributor pages', async () => {
  page = await newPage();
  await page.goto('/jobs?state=failed');
  assert.equal(path(), '/signin');
  await signInWithSSO(viewer);
  assert.equal(path(), '/jobs', `not back on the deep link but at ${page.url()}`);
  assert.equal(new URL(page.url()).searchParams.get('state'), 'failed');
  assert.equal(await text('#whoami'), `${viewer.email} · reader`);
  assert.equal(await page.getByRole('link', { name: 'Tokens', exact: true }).count(), 0, 'a reader sees no Tokens page');
});

await step('a person in no mapped group is refused on the sign-in page', async () => {
  page = await newPage();
  await page.goto('/signin');
  await page.getByRole('link', { name: `Sign in with ${idpName}`, exact: true }).click();
  await page.waitForURL((u) => u.origin === idp);
  await page.getByLabel('Username').fill(stranger.user);
  await page.getByLabel('Password').fill(stranger.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.origin === ui && u.pathname === '/signin/sso/callback');
  assert.match(await text('[role=alert]'), /has no role in/);
  await page.screenshot({ path: join(shots, 'sso-refused.png'), fullPage: true });
});

await step('no page requested anything from an origin other than the vault and the provider', async () => {
  assert.deepEqual([...foreign], []);
});

await browser.close();
console.log(`# screenshots in ${shots}`);
