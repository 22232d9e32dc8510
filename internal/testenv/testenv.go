// Package testenv gives integration and end-to-end tests real local clusters. It is imported only
// by tests. A missing prerequisite fails the test with a message saying how to install it; it never
// skips, so CI cannot pass by running nothing.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

// Kind says how much of a cluster a test needs.
type Kind int

const (
	// ControlPlane is etcd, kube-apiserver, kube-controller-manager and kube-scheduler: no Pods run.
	ControlPlane Kind = iota
	// WithNode adds a real node (containerd, kubelet), so Pods run.
	WithNode
	// WithCSI adds the CSI stack with volume snapshots to the node.
	WithCSI
)

// Option changes a test cluster's options.
type Option func(*localcluster.Options)

// SharedCSIState makes the cluster's CSI driver keep volumes and snapshots in dir, so clusters given
// the same dir share one storage backend.
func SharedCSIState(dir string) Option {
	return func(o *localcluster.Options) { o.CSIStateDir = dir }
}

// KubeVersion runs Kubernetes version v (its binaries in <cache>/bin/kubernetes-v) instead of
// KUBE_VERSION; with UpgradeKubeVersion, only for a ControlPlane cluster.
func KubeVersion(v string) Option {
	return func(o *localcluster.Options) { o.KubeVersion = v }
}

// UpgradeKubeVersion is UPGRADE_KUBE_VERSION from hack/versions.sh: the newer Kubernetes whose
// control plane hack/build-cluster-binaries.sh builds for the cluster-upgrade tests.
func UpgradeKubeVersion() (string, error) {
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return "", err
	}
	if bins.UpgradeKubeVersion == "" {
		return "", errors.New("hack/versions.sh sets no UPGRADE_KUBE_VERSION")
	}
	return bins.UpgradeKubeVersion, nil
}

// StartCluster starts a fresh cluster called name. Test clusters are named "t-..." so they never
// collide with a person's "dev" cluster.
func StartCluster(ctx context.Context, name string, kind Kind, options ...Option) (*localcluster.Cluster, error) {
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if os.Getenv("CAIRN_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	opts := localcluster.Options{
		Name:        "t-" + name,
		Binaries:    bins,
		Controllers: true,
		Node:        kind >= WithNode,
		CSI:         kind >= WithCSI,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	began := time.Now()
	for _, o := range options {
		o(&opts)
	}
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "testenv: cluster %s up in %s (%s)\n", opts.Name, time.Since(began).Round(time.Millisecond), c.State.Server)
	return c, nil
}

// StopCluster stops the cluster and reports anything it left behind as an error.
func StopCluster(ctx context.Context, c *localcluster.Cluster) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	if left := c.Leftovers(); len(left) > 0 {
		return fmt.Errorf("cluster left behind after stop:\n  %s", strings.Join(left, "\n  "))
	}
	return nil
}

// Main runs a test binary's tests against one shared cluster and stops it afterwards, failing the
// run if the cluster cannot start or leaves anything behind. Use it from TestMain.
func Main(run func() int, name string, kind Kind, shared **localcluster.Cluster) int {
	ctx := context.Background()
	c, err := StartCluster(ctx, name, kind)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: start test cluster %q: %v\n", name, err)
		return 1
	}
	*shared = c
	code := run()
	if err := StopCluster(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: stop test cluster %q: %v\n", name, err)
		return 1
	}
	return code
}
