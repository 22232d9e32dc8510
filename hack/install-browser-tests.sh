#!/usr/bin/env bash
# Installs the Backup center's browser test dependencies (test/browser: playwright-core, exactly as
# package-lock.json pins it) with npm ci into $CAIRN_CACHE/npm/browser-tests-<hash of the lock
# file>, and prints that install's node_modules folder (the NODE_PATH test/e2e gives the script).
# A finished install is detected by its node_modules, so a second run costs nothing; a changed lock
# file installs into a new folder; a half-made folder (*.tmp) is removed and installed again.
# The browser is Debian's Chromium (hack/install-deps.sh): playwright-core downloads none, and
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 makes sure nothing else does.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cache_lock browser-tests

src="$root/test/browser"
# The same name test/e2e computes (browserTestsDir): the first 16 hex digits of the lock file's SHA-256.
hash=$(sha256sum "$src/package-lock.json" | cut -c1-16)
dir="$CAIRN_CACHE/npm/browser-tests-$hash"
modules="$dir/node_modules"

if [[ -f "$modules/playwright-core/package.json" ]]; then
  echo "$modules"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-browser-tests: npm not found; install Node.js 20 or newer (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

echo ">> installing the browser tests' packages (playwright-core) into $dir (npm ci)" >&2
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
cp "$src/package.json" "$src/package-lock.json" "$dir.tmp/"
(cd "$dir.tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
if [[ ! -f "$dir.tmp/node_modules/playwright-core/package.json" ]]; then
  echo "install-browser-tests: npm ci finished but $dir.tmp/node_modules/playwright-core is missing" >&2
  exit 1
fi
rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo "$modules"
