# Versions of everything the local cluster and the tests run. Sourced by the hack/ scripts and .ci/run;
# internal/localcluster reads the same file so that Go and shell never disagree.
KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
# CAIRN_CACHE holds what is built or installed once per user and kept by version (cluster binaries,
# CSI sidecars, lint tools, storage servers, npm packages): every checkout on the machine shares it.
# CAIRN_STATE holds what belongs to one checkout (local clusters, their logs, the demo's vault).
CAIRN_CACHE=${CAIRN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
CAIRN_STATE=${CAIRN_STATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache}
export KUBE_VERSION ETCD_VERSION CAIRN_CACHE CAIRN_STATE
# cache_lock NAME: holds an exclusive lock on $CAIRN_CACHE/.locks/NAME until the script exits, so
# that two checkouts building the same thing into the shared cache take turns.
cache_lock() {
  mkdir -p "$CAIRN_CACHE/.locks"
  exec {cache_lock_fd}>"$CAIRN_CACHE/.locks/$1"
  flock "$cache_lock_fd"
}
# The newer Kubernetes the cluster-upgrade tests restore into (control plane only; hack/tools/kubernetes-upgrade).
UPGRADE_KUBE_VERSION=v1.37.2
export UPGRADE_KUBE_VERSION
# Real storage servers the storage backends are tested against.
VERSITYGW_VERSION=v1.8.0
AZURITE_VERSION=3.37.0
export VERSITYGW_VERSION AZURITE_VERSION
# The OpenID provider the single sign-on tests run against (hack/install-oidc-provider.sh).
ZITADEL_OIDC_VERSION=v3.52.0
export ZITADEL_OIDC_VERSION
# The Kubernetes CSI sidecars of the local cluster's CSI stack (hack/build-csi-sidecars.sh).
CSI_PROVISIONER_VERSION=v6.4.0
CSI_SNAPSHOTTER_VERSION=v8.7.0
export CSI_PROVISIONER_VERSION CSI_SNAPSHOTTER_VERSION
# The backup tools bench/files compares cairn's file store with (hack/install-bench-tools.sh).
KOPIA_VERSION=v0.23.1
RESTIC_VERSION=v0.19.1
export KOPIA_VERSION RESTIC_VERSION
# Velero and its AWS plugin, which bench/cluster measures beside cairn (hack/install-velero.sh).
VELERO_VERSION=v1.18.3
VELERO_AWS_PLUGIN_VERSION=v1.14.3
export VELERO_VERSION VELERO_AWS_PLUGIN_VERSION
# The previous release of cairn that runs as vault replicas on PostgreSQL: the rolling-upgrade e2e
# test runs it beside this checkout's vault (hack/build-previous-release.sh builds it from git).
PREVIOUS_REPLICA_RELEASE=6903078
export PREVIOUS_REPLICA_RELEASE
