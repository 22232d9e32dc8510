// What the browser scripts share: their environment and Debian's Chromium, launched through
// playwright-core.
import { createRequire } from 'node:module';

// import statements ignore NODE_PATH; require honours it, so playwright-core is found in the
// cached install without a node_modules folder in the checkout.
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

// env is the environment variable name, or the script ends (exit 2) saying it is not set.
export function env(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`not ok - environment: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

// launchChromium starts CHROMIUM (default /usr/bin/chromium) headless; Playwright gives every
// launch a fresh --user-data-dir.
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
