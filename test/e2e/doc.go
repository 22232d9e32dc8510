// Package e2e holds end-to-end tests on a full local cluster with a real node: Pods run in
// containerd and exec reaches them. Build tag: e2e (make test-e2e); needs root.
package e2e
