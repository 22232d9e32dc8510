#!/usr/bin/env bash
# Installs the backup tools bench/files measures cairn's file store against, from the Go module
# proxy. Output: $CAIRN_CACHE/tools/kopia-$KOPIA_VERSION/kopia and
# $CAIRN_CACHE/tools/restic-$RESTIC_VERSION/restic.
# Each binary is built into a .tmp folder and moved into place only when complete, so a half
# install is never taken as done; a second run costs nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"

# install NAME VERSION MODULE [PACKAGE [LDFLAGS]]: builds MODULE@VERSION's PACKAGE (a path inside
# the module, default its root) into $CAIRN_CACHE/tools/NAME-VERSION/NAME.
# This is `go install MODULE/PACKAGE@VERSION` in two steps: the module is downloaded at that exact
# version and built with its own go.mod and go.sum, as go install does. go install also asks the
# proxy for the module's list of versions (to warn of deprecation), and a proxy that refuses that
# list (403, as some mirrors do for kopia) fails it; the exact version alone is all we need. Built
# this way the binary does not know its module's version, so LDFLAGS hands it over where the tool
# reads it from a variable (kopia; restic has its version in its source).
install() {
  local name=$1 version=$2 module=$3 pkg=${4:-.} ldflags=${5:-}
  local dir="$CAIRN_CACHE/tools/$name-$version"
  cache_lock "$name"
  if [[ -x "$dir/$name" ]]; then
    return 0
  fi
  echo ">> building $name $version into $dir (cold: a few minutes)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  # Run outside the checkout so cairn's go.mod is neither read nor changed.
  local src
  src=$(cd "$dir.tmp" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [[ -z "$src" || ! -f "$src/go.mod" ]]; then
    echo "install-bench-tools: go mod download $module@$version gave no module directory" >&2
    exit 1
  fi
  (cd "$dir.tmp" && go build -C "$src" -trimpath -ldflags "$ldflags" -o "$dir.tmp/$name" "$pkg")
  if [[ ! -x "$dir.tmp/$name" ]]; then
    echo "install-bench-tools: go build of $module@$version finished but $dir.tmp/$name is missing" >&2
    exit 1
  fi
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo ">> $name ready: $dir/$name"
}

install kopia "$KOPIA_VERSION" github.com/kopia/kopia . "-X github.com/kopia/kopia/repo.BuildVersion=$KOPIA_VERSION"
install restic "$RESTIC_VERSION" github.com/restic/restic ./cmd/restic
