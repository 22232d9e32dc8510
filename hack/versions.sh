# Versions of everything the local cluster and the tests run. Sourced by the hack/ scripts and .ci/run;
# internal/localcluster reads the same file so that Go and shell never disagree.
KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
CAIRN_CACHE=${CAIRN_CACHE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache}
export KUBE_VERSION ETCD_VERSION CAIRN_CACHE
# The newer Kubernetes the cluster-upgrade tests restore into (control plane only; hack/tools/kubernetes-upgrade).
UPGRADE_KUBE_VERSION=v1.37.2
export UPGRADE_KUBE_VERSION
# Real storage servers the storage backends are tested against.
VERSITYGW_VERSION=v1.8.0
AZURITE_VERSION=3.37.0
export VERSITYGW_VERSION AZURITE_VERSION
# The Kubernetes CSI sidecars of the local cluster's CSI stack (hack/build-csi-sidecars.sh).
CSI_PROVISIONER_VERSION=v6.4.0
CSI_SNAPSHOTTER_VERSION=v8.7.0
export CSI_PROVISIONER_VERSION CSI_SNAPSHOTTER_VERSION
