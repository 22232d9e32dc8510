#!/usr/bin/env bash
# Builds etcd and the Kubernetes components of the local cluster from the Go module proxy.
# Output: $CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION and $CAIRN_CACHE/bin/etcd-$ETCD_VERSION.
# A build that finished leaves a .complete stamp, so a second run costs nothing; a half-made
# folder (no stamp) is rebuilt from scratch.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"

kube_dir="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION"
etcd_dir="$CAIRN_CACHE/bin/etcd-$ETCD_VERSION"
components=(kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet)

build_kubernetes() {
  if [[ -f "$kube_dir/.complete" ]]; then return; fi
  echo ">> building Kubernetes $KUBE_VERSION components into $kube_dir (cold: ~25 min on 2 cores)"
  rm -rf "$kube_dir.tmp" && mkdir -p "$kube_dir.tmp"
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (
    cd "$root/hack/tools/kubernetes"
    for c in "${components[@]}"; do
      echo "   $c"
      CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$kube_dir.tmp/$c" "k8s.io/kubernetes/cmd/$c"
    done
  )
  touch "$kube_dir.tmp/.complete"
  rm -rf "$kube_dir" && mv "$kube_dir.tmp" "$kube_dir"
}

build_etcd() {
  if [[ -f "$etcd_dir/.complete" ]]; then return; fi
  echo ">> building etcd $ETCD_VERSION into $etcd_dir"
  rm -rf "$etcd_dir.tmp" && mkdir -p "$etcd_dir.tmp"
  (cd "$root/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" .)
  touch "$etcd_dir.tmp/.complete"
  rm -rf "$etcd_dir" && mv "$etcd_dir.tmp" "$etcd_dir"
}

build_etcd
build_kubernetes

# envtest (KUBEBUILDER_ASSETS) wants etcd, kube-apiserver and kubectl in one folder.
assets="$CAIRN_CACHE/bin/envtest-$KUBE_VERSION-$ETCD_VERSION"
mkdir -p "$assets"
ln -sf "$etcd_dir/etcd" "$assets/etcd"
ln -sf "$kube_dir/kube-apiserver" "$assets/kube-apiserver"
ln -sf "$kube_dir/kubectl" "$assets/kubectl"
echo ">> cluster binaries ready: $kube_dir, $etcd_dir"
