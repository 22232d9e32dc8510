//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestTwoClustersAreIndependent runs an alternate restore target beside the shared source: its own
// ports, etcd and PKI, and none of the source's objects.
func TestTwoClustersAreIndependent(t *testing.T) {
	ctx := t.Context()
	target, err := testenv.StartCluster(ctx, "it-target", testenv.ControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.StopCluster(context.Background(), target); err != nil {
			t.Error(err)
		}
	})
	if target.State.APIPort == source.State.APIPort || target.State.EtcdPort == source.State.EtcdPort || target.Dir == source.Dir {
		t.Fatalf("clusters share ports or state: %+v vs %+v", target.State, source.State)
	}
	srcClient, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	dstClient, err := target.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-source"}}
	if _, err := srcClient.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dstClient.CoreV1().Namespaces().Get(ctx, "only-in-source", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("target sees the source's namespace (err=%v)", err)
	}
	// The target's admin credential is not trusted by the source.
	srcCfg, err := source.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dstCfg, err := target.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	srcCfg.CertData, srcCfg.KeyData = dstCfg.CertData, dstCfg.KeyData
	if _, err := kubernetes.NewForConfigOrDie(srcCfg).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("source accepted the target's client certificate (err=%v)", err)
	}
}

// TestStartAfterCrash kills a cluster's processes as a crash would (pid files stay) and starts it
// again: the new start must clean up and come up fresh.
func TestStartAfterCrash(t *testing.T) {
	ctx := t.Context()
	first, err := testenv.StartCluster(ctx, "it-crash", testenv.ControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	etcdPid := pidOf(t, first, "etcd")
	if err := syscall.Kill(pidOf(t, first, "kube-apiserver"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second, err := testenv.StartCluster(ctx, "it-crash", testenv.ControlPlane)
	if err != nil {
		t.Fatalf("start after crash: %v", err)
	}
	// The old etcd must be gone: the new start stops what the old pid files name.
	if alive(etcdPid) {
		t.Errorf("etcd of the crashed run (pid %d) still runs", etcdPid)
	}
	client, err := second.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("restarted cluster does not serve: %v", err)
	}
	if err := testenv.StopCluster(ctx, second); err != nil {
		t.Fatal(err)
	}
}

func pidOf(t *testing.T, c *localcluster.Cluster, component string) int {
	t.Helper()
	pid, ok := c.Pid(component)
	if !ok {
		t.Fatalf("%s is not running", component)
	}
	return pid
}

// alive tells whether pid is a running process (a zombie awaiting its reaper is not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
