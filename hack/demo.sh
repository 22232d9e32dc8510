#!/usr/bin/env bash
# The newcomer's demo: a real local cluster (with a CSI driver and volume snapshots), a sample app
# with a persistent volume on it, a vault with a policy, the cluster bound to it with its agent, a
# scheduled backup, the app deleted, the app restored through the vault (its volume from the
# snapshot) and running again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source hack/versions.sh
kubectl="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION/kubectl"
repo="file://$CAIRN_STATE/demo-repository"
export CAIRN_PASSPHRASE=${CAIRN_PASSPHRASE:-demo-passphrase-change-me}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# wait_for WHAT SECONDS COMMAND...: polls COMMAND once a second.
wait_for() {
  local what=$1 limit=$2; shift 2
  for ((i = 0; i < limit; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "demo: gave up waiting for $what after ${limit}s; logs in $vault_dir" >&2
  return 1
}
vault_dir="$CAIRN_STATE/demo-vault"
vault_addr=127.0.0.1:${CAIRN_DEMO_VAULT_PORT:-18443}
vault_url=http://$vault_addr
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

step "Starting the local cluster (etcd, kube-apiserver, controllers, a real node, a CSI driver with snapshots)"
go run ./hack/localcluster up -name dev
export KUBECONFIG="$CAIRN_STATE/clusters/dev/kubeconfig"
run bin/cairn version
run bin/cairn cluster info

step "Deploying a sample app into namespace 'shop'"
"$kubectl" delete namespace shop --ignore-not-found --wait=true >/dev/null
"$kubectl" apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {app: shop}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {greeting: "hello from before the disaster"}
---
apiVersion: v1
kind: Secret
metadata: {name: db-credentials, namespace: shop}
stringData: {password: s3cr3t}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: orders, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: local/busybox:1
        imagePullPolicy: Never
        command: [sh, -c, '[ -f /data/orders.txt ] || echo "order 1001, written $(date -u)" > /data/orders.txt; echo "$GREETING" > /tmp/greeting; exec sleep 3600']
        env:
        - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
        volumeMounts: [{name: orders, mountPath: /data}]
      volumes: [{name: orders, persistentVolumeClaim: {claimName: orders}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
YAML
"$kubectl" -n shop rollout status deployment/web --timeout=120s
run "$kubectl" -n shop get all,configmaps,secrets,pvc
run "$kubectl" -n shop exec deploy/web -- cat /data/orders.txt

step "Starting the vault (the management plane) on $vault_url"
rm -rf "$vault_dir" && mkdir -p "$vault_dir"
bin/cairn vault serve --data-dir "$vault_dir" --listen "$vault_addr" --tick 2s \
  --currency EUR --price-namespace-month 2 --price-storage-gib-month 0.02 --price-snapshot-gib-month 0.05 \
  >"$vault_dir/vault.log" 2>&1 &
pids+=($!)
wait_for "the vault" 30 test -s "$vault_dir/admin.token"
export CAIRN_VAULT_URL=$vault_url
CAIRN_VAULT_TOKEN=$(cat "$vault_dir/admin.token")
export CAIRN_VAULT_TOKEN
run bin/cairn policy create every-minute --cron "* * * * *" --retain 1d --keep-last 3

step "Binding the cluster to the vault (trust grant) and starting its agent"
run bin/cairn cluster register dev --token-file "$vault_dir/dev-agent.token" --manifest-file "$vault_dir/dev-trust-grant.yaml"
mkdir -p "$vault_dir/agent-secrets"
printf '%s\n' "$CAIRN_PASSPHRASE" >"$vault_dir/agent-secrets/demo-passphrase"
printf '$ %s\n' "cairn agent run --vault $vault_url --token-file $vault_dir/dev-agent.token --secrets-dir $vault_dir/agent-secrets &"
bin/cairn agent run --vault "$vault_url" --token-file "$vault_dir/dev-agent.token" --secrets-dir "$vault_dir/agent-secrets" \
  >"$vault_dir/agent.log" 2>&1 &
pids+=($!)
wait_for "the agent to report" 30 sh -c "bin/cairn cluster show dev | grep -q healthy"
run bin/cairn cluster list

step "Protecting namespace 'shop': objects encrypted in $repo, the volume as a CSI snapshot, every minute"
if [[ -d ${repo#file://} ]]; then # an earlier demo's backups: delete them with their snapshots
  for b in $(bin/cairn backup list --storage "$repo" 2>/dev/null | awk 'NR > 1 {print $1}'); do
    bin/cairn backup delete "$b" --storage "$repo" >/dev/null 2>&1 || true
  done
  rm -rf "${repo#file://}"
fi
run bin/cairn instance create shop --cluster dev --policy every-minute --storage "$repo" \
  --passphrase-secret demo-passphrase --include-namespaces shop --snapshot-volumes
echo "waiting for the scheduled backup (the policy runs at the top of each minute)..."
wait_for "the scheduled backup" 150 sh -c "bin/cairn recovery-point list --instance shop -o json | grep -q '\"phase\": \"Completed\"'"
run bin/cairn recovery-point list --instance shop
run bin/cairn job list --instance shop
point=$(bin/cairn recovery-point list --instance shop -o json | sed -n 's/.*"name": "\([^"]*\)".*/\1/p' | head -1)

step "Disaster: namespace 'shop' is deleted"
run "$kubectl" delete namespace shop --wait=true
run "$kubectl" get namespace shop || true

step "Restoring 'shop' from recovery point $point through the vault"
run bin/cairn restore create --from "$point" --wait
"$kubectl" -n shop rollout status deployment/web --timeout=120s

step "The app is back"
run "$kubectl" -n shop get all,configmaps,secrets,pvc
run "$kubectl" -n shop exec deploy/web -- cat /tmp/greeting
run "$kubectl" -n shop exec deploy/web -- cat /data/orders.txt

run bin/cairn usage

cat <<MSG

The cluster keeps running (the vault and the agent stop with this script). Use it with:
  export KUBECONFIG=$KUBECONFIG
  $kubectl get pods -A
See all of it in the Backup center, the web dashboard: run 'make demo-center', open
http://$vault_addr/ and sign in with the token in $vault_dir/admin.token.
Stop the cluster with: make cluster-down
MSG
