#!/usr/bin/env bash
# The newcomer's demo: a real local cluster (with a CSI driver and volume snapshots), a sample app
# with a persistent volume on it, a backup, the app deleted, the app restored from the backup
# (its volume from the snapshot) and running again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source hack/versions.sh
kubectl="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION/kubectl"
repo="file://$CAIRN_CACHE/demo-repository"
export CAIRN_PASSPHRASE=${CAIRN_PASSPHRASE:-demo-passphrase-change-me}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Starting the local cluster (etcd, kube-apiserver, controllers, a real node, a CSI driver with snapshots)"
go run ./hack/localcluster up -name dev
export KUBECONFIG="$CAIRN_CACHE/clusters/dev/kubeconfig"
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

step "Backing up namespace 'shop' (objects encrypted and tamper-evident in $repo, the volume as a CSI snapshot)"
bin/cairn backup delete demo --storage "$repo" >/dev/null 2>&1 ||
  bin/cairn backup delete demo --storage "$repo" --keep-snapshots >/dev/null 2>&1 || true
run bin/cairn backup create demo --storage "$repo" --include-namespaces shop
run bin/cairn backup verify demo --storage "$repo"

step "Disaster: namespace 'shop' is deleted"
run "$kubectl" delete namespace shop --wait=true
run "$kubectl" get namespace shop || true

step "Restoring 'shop' from the backup"
run bin/cairn restore create "demo-$(date +%s)" --from demo --storage "$repo"
"$kubectl" -n shop rollout status deployment/web --timeout=120s

step "The app is back"
run "$kubectl" -n shop get all,configmaps,secrets,pvc
run "$kubectl" -n shop exec deploy/web -- cat /tmp/greeting
run "$kubectl" -n shop exec deploy/web -- cat /data/orders.txt

cat <<MSG

The cluster keeps running. Use it with:
  export KUBECONFIG=$KUBECONFIG
  $kubectl get pods -A
Stop it with: make cluster-down
MSG
