#!/usr/bin/env bash
# Serves the Backup center over what `make demo` left: the demo's vault (its data directory in
# $CAIRN_STATE/demo-vault) and the agent of its local cluster, in the foreground until Ctrl-C,
# so that backups, restores and dry runs started from the browser really run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source hack/versions.sh
kubectl="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION/kubectl"
vault_dir="$CAIRN_STATE/demo-vault"
vault_addr=127.0.0.1:${CAIRN_DEMO_VAULT_PORT:-18443}
export KUBECONFIG="$CAIRN_STATE/clusters/dev/kubeconfig"
if [[ ! -s $vault_dir/admin.token || ! -s $vault_dir/dev-agent.token ]]; then
  echo "demo-center: no demo vault in $vault_dir: run 'make demo' first" >&2
  exit 1
fi
if ! "$kubectl" get --raw /readyz >/dev/null 2>&1; then
  echo "demo-center: the demo's cluster does not answer (KUBECONFIG=$KUBECONFIG): run 'make demo' again" >&2
  exit 1
fi
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

bin/cairn vault serve --data-dir "$vault_dir" --listen "$vault_addr" --tick 5s \
  --currency EUR --price-namespace-month 2 --price-storage-gib-month 0.02 --price-snapshot-gib-month 0.05 \
  >>"$vault_dir/vault.log" 2>&1 &
pids+=($!)
bin/cairn agent run --vault "http://$vault_addr" --token-file "$vault_dir/dev-agent.token" --secrets-dir "$vault_dir/agent-secrets" \
  >>"$vault_dir/agent.log" 2>&1 &
pids+=($!)

cat <<MSG
The Backup center of the demo's vault: open http://$vault_addr/ and sign in with the token in
  $vault_dir/admin.token (a contributor token)
Backups and restores started there run on the demo cluster's agent. Ctrl-C stops the vault and the agent.
MSG
wait "${pids[0]}"
