#!/usr/bin/env bash
# Builds cairn as it was at PREVIOUS_REPLICA_RELEASE (hack/versions.sh), from this checkout's git
# history, for the rolling-upgrade e2e test (TestRollingUpgradeFromThePreviousRelease).
# Output: $CAIRN_CACHE/bin/cairn-<commit>/cairn. Built once per commit; a shallow clone is deepened
# first (the commit must be in the history: a release is a commit of main).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock previous-release

commit=$PREVIOUS_REPLICA_RELEASE
out="$CAIRN_CACHE/bin/cairn-$commit"
if [[ -x "$out/cairn" ]]; then exit 0; fi

if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
  if [[ $(git -C "$root" rev-parse --is-shallow-repository) == true ]]; then
    echo ">> this clone is shallow: fetching the history that holds $commit"
    git -C "$root" fetch --quiet --unshallow || true
  fi
  if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "commit $commit (PREVIOUS_REPLICA_RELEASE in hack/versions.sh) is not in this clone's history: clone the repository with its history (no --depth)" >&2
    exit 1
  fi
fi

echo ">> building cairn at $commit (the previous release) into $out"
work="$CAIRN_CACHE/build/cairn-$commit"
rm -rf "$work" "$out.tmp" && mkdir -p "$work" "$out.tmp"
git -C "$root" archive "$commit" | tar -x -C "$work"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp/cairn" ./cmd/cairn)
rm -rf "$work" "$out" && mv "$out.tmp" "$out"
