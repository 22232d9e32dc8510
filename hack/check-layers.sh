#!/usr/bin/env bash
# Proves the layering rules bite: plants one upward import on every floor of docs/ARCHITECTURE.md
# (a file importing a package of a floor above), runs depguard over the tree and fails unless
# every planted import is reported. The plants are removed whatever happens.
#   hack/check-layers.sh GOLANGCI_LINT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lint=${1:?usage: $0 PATH-TO-GOLANGCI-LINT}
mod=github.com/cairnbackup/cairn

# pass:floor directory:a package of a floor above it. Plants of one pass must not make an import
# cycle together (a cycle fails type checking before depguard looks), so some go in later passes.
# The store has no plant: every floor above it imports it, so an upward import from it is a cycle
# the compiler refuses anyway.
plants=(
  "1:internal/blob:internal/vault/access"
  "1:internal/archive:internal/vault/access"
  "1:internal/archive/filerepo:internal/vault/access"
  "1:internal/scope:internal/vault/access"
  "1:internal/secretref:internal/vault/access"
  "1:internal/backup:internal/vault/access"
  "1:internal/restore:internal/vault/access"
  "1:internal/files:internal/vault/jobs"
  "1:internal/mover:internal/vault/access"
  "1:internal/usecase:internal/vault/access"
  "1:internal/agent:internal/vault/access"
  "1:internal/vault/api:internal/agent"
  "1:internal/vault/ui:internal/vault/scheduler"
  "1:api/agentv1:internal/vault/access"
  "1:api/vaultv1:api/agentv1"
  "1:cmd/cairn:internal/vault/access"
  "1:internal/kube:internal/localcluster"
  "2:internal/vault/client:internal/vault/store"
  "2:internal/vault/api:internal/vault/scheduler"
  "3:internal/vault/jobs:internal/vault/ui"
  "3:internal/vault/metrics:internal/vault/api"
  "3:internal/vault/events:internal/vault/ui"
  "3:internal/vault/notify:internal/vault/ui"
  "1:internal/vault/scheduler:internal/vault/metrics"
  "1:internal/vault/sso:internal/vault/store"
)

files=()
cleanup() { rm -f "${files[@]}"; }
trap cleanup EXIT
missed=0
for pass in 1 2 3; do
  files=()
  for i in "${!plants[@]}"; do
    IFS=: read -r p dir target <<<"${plants[$i]}"
    [[ $p == "$pass" ]] || continue
    pkg=$(cd "$root/$dir" && go list -f '{{.Name}}' .)
    file="$root/$dir/zz_layer_plant_${i}.go"
    printf 'package %s\n\nimport _ "%s/%s"\n' "$pkg" "$mod" "$target" >"$file"
    files+=("$file")
  done
  out=$(cd "$root" && "$lint" run --enable-only depguard --build-tags integration,e2e ./... 2>&1 || true)
  for i in "${!plants[@]}"; do
    IFS=: read -r p dir target <<<"${plants[$i]}"
    [[ $p == "$pass" ]] || continue
    if ! grep -q "zz_layer_plant_${i}.go.*depguard" <<<"$out"; then
      echo "check-layers: the upward import $dir → $target was not reported" >&2
      missed=$((missed + 1))
    fi
  done
  if ((missed > 0)); then
    echo "$out" >&2
    exit 1
  fi
  cleanup
done
echo "check-layers: all ${#plants[@]} planted upward imports were refused"
