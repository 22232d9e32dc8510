#!/usr/bin/env bash
# Builds etcd and the Kubernetes components of the local cluster from the Go module proxy.
#   hack/build-cluster-binaries.sh           $CAIRN_CACHE/bin/etcd-$ETCD_VERSION and
#                                            $CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION (what the demo,
#                                            the local cluster and most tests run)
#   hack/build-cluster-binaries.sh upgrade   the control plane of the newer Kubernetes the
#                                            cluster-upgrade test restores into,
#                                            $CAIRN_CACHE/bin/kubernetes-$UPGRADE_KUBE_VERSION
#                                            (kube-apiserver, kube-controller-manager, kube-scheduler,
#                                            kubectl: no kubelet, those clusters have no node)
# A build that finished leaves a .complete stamp, so a second run costs nothing; a half-made
# folder (no stamp) is rebuilt from scratch.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock cluster-binaries

kube_dir="$CAIRN_CACHE/bin/kubernetes-$KUBE_VERSION"
upgrade_dir="$CAIRN_CACHE/bin/kubernetes-$UPGRADE_KUBE_VERSION"
etcd_dir="$CAIRN_CACHE/bin/etcd-$ETCD_VERSION"

# build_kubernetes VERSION DIR MODULE COMPONENT... builds k8s.io/kubernetes/cmd/COMPONENT of VERSION
# with the wrapper module hack/tools/MODULE (which must require that version) into DIR.
build_kubernetes() {
  local version=$1 dir=$2 module=$3; shift 3
  if [[ -f "$dir/.complete" ]]; then return; fi
  local have
  have=$(cd "$root/hack/tools/$module" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  if [[ "$have" != "$version" ]]; then
    echo "hack/tools/$module requires k8s.io/kubernetes $have, hack/versions.sh asks for $version:" >&2
    echo "update its go.mod (require and the staging replaces of $version), then go mod tidy" >&2
    return 1
  fi
  echo ">> building Kubernetes $version ($*) into $dir (cold: ~25 min on 2 cores for all five)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  local minor=${version#v1.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (
    cd "$root/hack/tools/$module"
    for c in "$@"; do
      echo "   $c"
      CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir.tmp/$c" "k8s.io/kubernetes/cmd/$c"
    done
  )
  touch "$dir.tmp/.complete"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

build_etcd() {
  if [[ -f "$etcd_dir/.complete" ]]; then return; fi
  echo ">> building etcd $ETCD_VERSION into $etcd_dir"
  rm -rf "$etcd_dir.tmp" && mkdir -p "$etcd_dir.tmp"
  (cd "$root/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" .)
  touch "$etcd_dir.tmp/.complete"
  rm -rf "$etcd_dir" && mv "$etcd_dir.tmp" "$etcd_dir"
}

case "${1:-}" in
  "") ;;
  upgrade)
    build_kubernetes "$UPGRADE_KUBE_VERSION" "$upgrade_dir" kubernetes-upgrade kube-apiserver kubectl kube-controller-manager kube-scheduler
    echo ">> upgrade control plane ready: $upgrade_dir"
    exit 0
    ;;
  *) echo "usage: $0 [upgrade]" >&2; exit 2 ;;
esac

build_etcd
build_kubernetes "$KUBE_VERSION" "$kube_dir" kubernetes kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet

# envtest (KUBEBUILDER_ASSETS) wants etcd, kube-apiserver and kubectl in one folder.
assets="$CAIRN_CACHE/bin/envtest-$KUBE_VERSION-$ETCD_VERSION"
mkdir -p "$assets"
ln -sf "$etcd_dir/etcd" "$assets/etcd"
ln -sf "$kube_dir/kube-apiserver" "$assets/kube-apiserver"
ln -sf "$kube_dir/kubectl" "$assets/kubectl"
echo ">> cluster binaries ready: $kube_dir, $etcd_dir"
