#!/usr/bin/env bash
# Builds Velero $VELERO_VERSION and its AWS plugin $VELERO_AWS_PLUGIN_VERSION from the Go module
# proxy, for bench/cluster (make bench-velero; ../shared/notes/velero.md has what was learnt).
# Velero's go.mod has replace directives, so `go install velero@version` is refused: the wrapper
# module hack/tools/velero requires it with the same replace lines (and k8s.io modules raised to a
# patch release the proxy serves) and builds its cmd/velero. The plugin installs as it is.
# Output: $CAIRN_CACHE/tools/velero-$VELERO_VERSION/velero and
# $CAIRN_CACHE/tools/velero-plugin-for-aws-$VELERO_AWS_PLUGIN_VERSION/velero-plugin-for-aws (the
# server's --plugin-dir). Each is built into a .tmp folder and moved into place only when complete;
# a second run costs nothing (a cold build takes several minutes).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock velero

dir="$CAIRN_CACHE/tools/velero-$VELERO_VERSION"
if [[ ! -x "$dir/velero" ]]; then
  src="$root/hack/tools/velero"
  have=$(cd "$src" && go list -m -f '{{.Version}}' github.com/vmware-tanzu/velero)
  if [[ "$have" != "$VELERO_VERSION" ]]; then
    echo "hack/tools/velero requires Velero $have, hack/versions.sh asks for $VELERO_VERSION: make them agree (go get, go mod tidy)" >&2
    exit 1
  fi
  echo ">> building Velero $VELERO_VERSION into $dir (cold: several minutes)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$VELERO_VERSION" \
    -o "$dir.tmp/velero" github.com/vmware-tanzu/velero/cmd/velero)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo ">> Velero ready: $dir/velero"
fi

plugin="$CAIRN_CACHE/tools/velero-plugin-for-aws-$VELERO_AWS_PLUGIN_VERSION"
if [[ ! -x "$plugin/velero-plugin-for-aws" ]]; then
  echo ">> building velero-plugin-for-aws $VELERO_AWS_PLUGIN_VERSION into $plugin"
  rm -rf "$plugin.tmp" && mkdir -p "$plugin.tmp"
  (cd "$plugin.tmp" && CGO_ENABLED=0 GOBIN="$plugin.tmp" go install -trimpath -ldflags "-s -w" \
    "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@$VELERO_AWS_PLUGIN_VERSION")
  rm -rf "$plugin" && mv "$plugin.tmp" "$plugin"
  echo ">> velero-plugin-for-aws ready: $plugin/velero-plugin-for-aws"
fi
