#!/usr/bin/env bash
# The newcomer's demo: a real local cluster, then cairn against it. Later issues grow this into
# deploy an app, back it up, break it, restore it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source hack/versions.sh
kubectl="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION/kubectl"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting the local cluster (etcd, kube-apiserver, controllers and a real node)"
go run ./hack/localcluster up -name dev
export KUBECONFIG="$CAIRN_CACHE/clusters/dev/kubeconfig"

step "cairn version"
bin/cairn version

step "cairn cluster info: what cairn sees of the cluster"
bin/cairn cluster info

step "The cluster's nodes (kubectl)"
"$kubectl" get nodes -o wide

cat <<MSG

The cluster keeps running. Use it with:
  export KUBECONFIG=$KUBECONFIG
  $kubectl get pods -A
Stop it with: make cluster-down
MSG
