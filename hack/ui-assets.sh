#!/usr/bin/env bash
# Refreshes the Backup center's third-party asset: htmx, taken from its npm package at a pinned
# version and committed with its licence under internal/vault/ui/static/htmx, so that `go build` embeds
# it and needs neither Node nor a network. Run by `make ui-assets`; the build never runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
dest=internal/vault/ui/static/htmx
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! command -v npm >/dev/null; then
  echo "ui-assets: npm not found; install Node.js 20 or newer (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
echo ">> fetching htmx.org@$HTMX_VERSION from npm"
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null)
tar -xzf "$tmp"/htmx.org-"$HTMX_VERSION".tgz -C "$tmp"
mkdir -p "$dest"
cp "$tmp/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "$HTMX_VERSION" > "$dest/VERSION"
echo ">> $dest: htmx $HTMX_VERSION ($(wc -c < "$dest/htmx.min.js") bytes)"
