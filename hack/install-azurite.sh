#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) from npm for the Azure Blob backend's integration
# tests. Output: $CAIRN_CACHE/npm/azurite-$AZURITE_VERSION with node_modules/.bin/azurite-blob.
# A finished install is detected by that file, so a second run costs nothing; a half-made
# folder (*.tmp) is removed and installed again.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock azurite

dir="$CAIRN_CACHE/npm/azurite-$AZURITE_VERSION"
bin="$dir/node_modules/.bin/azurite-blob"

if [[ -x "$bin" ]]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-azurite: npm not found; install Node.js 20 or newer (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi

echo ">> installing azurite@$AZURITE_VERSION into $dir (npm, ~80 s)"
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
npm install --prefix "$dir.tmp" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
if [[ ! -x "$dir.tmp/node_modules/.bin/azurite-blob" ]]; then
  echo "install-azurite: npm finished but $dir.tmp/node_modules/.bin/azurite-blob is missing" >&2
  exit 1
fi
rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo ">> azurite ready: $bin"
