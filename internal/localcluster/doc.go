// Package localcluster runs real, throwaway Kubernetes clusters on this machine's loopback: etcd and
// kube-apiserver for a control plane, plus (optionally) kube-controller-manager, kube-scheduler and a
// real node (containerd, runc, kubelet) on which Pods run and `kubectl exec` works.
//
// Every cluster lives in its own directory with its own ports, PKI and kubeconfig, so a source
// cluster and an alternate restore target run side by side. Processes are recorded in pid files so
// that Stop, or a Start after a crash, cleans up whatever an earlier run left: processes, mounts,
// network devices and the /etc/hosts line of the node name.
//
// The binaries are built from the Go module proxy by hack/build-cluster-binaries.sh; see
// docs/local-cluster.md.
package localcluster
