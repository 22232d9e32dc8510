#!/usr/bin/env bash
# Builds the Kubernetes CSI sidecars the local cluster's CSI stack runs as host processes
# (csi-provisioner, csi-snapshotter, snapshot-controller) from the Go module proxy, and copies the
# VolumeSnapshot CRDs next to them.
# Output: $CAIRN_CACHE/bin/csi-sidecars-<provisioner>-<snapshotter>/{csi-provisioner,csi-snapshotter,snapshot-controller,crd/}.
# Both modules carry replace directives, so `go install` refuses them: each is built as the main
# module from a writable copy of its module directory. A finished build leaves a .complete stamp.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.sh
source "$root/hack/versions.sh"
cache_lock csi-sidecars

out="$CAIRN_CACHE/bin/csi-sidecars-$CSI_PROVISIONER_VERSION-$CSI_SNAPSHOTTER_VERSION"
if [[ -f "$out/.complete" ]]; then exit 0; fi

module_dir() { # module@version -> its directory in the module cache (downloads it first)
  (cd "$root" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

echo ">> building CSI sidecars (provisioner $CSI_PROVISIONER_VERSION, snapshotter $CSI_SNAPSHOTTER_VERSION) into $out"
work="$CAIRN_CACHE/build/csi-sidecars"
rm -rf "$work" "$out.tmp" && mkdir -p "$work" "$out.tmp/crd"

prov=$(module_dir "github.com/kubernetes-csi/external-provisioner/v6@$CSI_PROVISIONER_VERSION")
snap=$(module_dir "github.com/kubernetes-csi/external-snapshotter/v8@$CSI_SNAPSHOTTER_VERSION")
client=$(module_dir "github.com/kubernetes-csi/external-snapshotter/client/v8@$CSI_SNAPSHOTTER_VERSION")

cp -r "$prov" "$work/provisioner" && chmod -R u+w "$work/provisioner"
cp -r "$snap" "$work/snapshotter" && chmod -R u+w "$work/snapshotter"
# external-snapshotter's go.mod replaces client/v8 with ./client, which its module zip leaves out.
rm -rf "$work/snapshotter/client" && cp -r "$client" "$work/snapshotter/client" && chmod -R u+w "$work/snapshotter/client"

build() { # dir package output
  (cd "$1" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$3" "$2")
}
echo "   csi-provisioner"
build "$work/provisioner" ./cmd/csi-provisioner "$out.tmp/csi-provisioner"
echo "   csi-snapshotter"
build "$work/snapshotter" ./cmd/csi-snapshotter "$out.tmp/csi-snapshotter"
echo "   snapshot-controller"
build "$work/snapshotter" ./cmd/snapshot-controller "$out.tmp/snapshot-controller"
cp "$client"/config/crd/*.yaml "$out.tmp/crd/"
rm -f "$out.tmp/crd/kustomization.yaml"

touch "$out.tmp/.complete"
rm -rf "$out" && mv "$out.tmp" "$out"
rm -rf "$work"
echo ">> CSI sidecars ready: $out"
