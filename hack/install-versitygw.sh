#!/usr/bin/env bash
# Installs versitygw, the S3 gateway the S3 backend's integration tests run against, from the Go
# module proxy. Output: $CAIRN_CACHE/tools/versitygw-$VERSITYGW_VERSION/versitygw.
# The binary is built into a .tmp folder and moved into place only when complete, so a half
# install is never taken as done; a second run costs nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
VERSITYGW_VERSION=${VERSITYGW_VERSION:-v1.8.0}
cache_lock versitygw

dir="$CAIRN_CACHE/tools/versitygw-$VERSITYGW_VERSION"
if [[ -x "$dir/versitygw" ]]; then
  exit 0
fi
echo ">> building versitygw $VERSITYGW_VERSION into $dir (cold: ~6 min)"
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
# Built outside the checkout's module so cairn's go.mod is neither read nor changed.
(cd "$dir.tmp" && GOBIN="$dir.tmp" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo ">> versitygw ready: $dir/versitygw"
