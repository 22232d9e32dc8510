// Package integration holds tests against a real kube-apiserver and etcd started by
// internal/localcluster, without a node. Build tag: integration (make test-integration).
package integration
