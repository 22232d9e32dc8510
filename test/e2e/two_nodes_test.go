//go:build e2e

package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestSecondClusterWithItsOwnNode runs an alternate restore target with a node of its own beside the
// shared cluster, runs a Pod on each, then stops the target: nothing of it may remain, and the shared
// cluster's Pod keeps running.
func TestSecondClusterWithItsOwnNode(t *testing.T) {
	ctx := t.Context()
	target, err := testenv.StartCluster(ctx, "e2e-target", testenv.WithNode)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = target.Stop(context.Background())
		}
	})
	if target.State.Bridge == cluster.State.Bridge || target.State.PodSubnet == cluster.State.PodSubnet {
		t.Fatalf("the two nodes share a pod network: %s %s", target.State.Bridge, target.State.PodSubnet)
	}
	runSleeper(ctx, t, cluster, "keeps-running")
	pod := runSleeper(ctx, t, target, "on-target")
	if pod.Spec.NodeName != target.State.Node {
		t.Fatalf("pod ran on %s, want the target's node %s", pod.Spec.NodeName, target.State.Node)
	}

	stopped = true
	if err := testenv.StopCluster(ctx, target); err != nil {
		t.Fatal(err)
	}
	cfg, err := cluster.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	survivor := waitRunningPod(ctx, t, client, "keeps-running", "app=sleeper")
	if _, _, code := execInPod(ctx, t, cfg, client, survivor, "app", []string{"true"}); code != 0 {
		t.Fatalf("the shared cluster's pod no longer answers exec after the target stopped (exit %d)", code)
	}
}

// runSleeper starts a bare Pod in a new namespace of c and waits until it runs.
func runSleeper(ctx context.Context, t *testing.T, c *localcluster.Cluster, ns string) corev1.Pod {
	t.Helper()
	client, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, client, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: ns, Labels: map[string]string{"app": "sleeper"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: new(int64(1)),
			Containers: []corev1.Container{{
				Name: "app", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sleep", "3600"},
			}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return waitRunningPod(ctx, t, client, ns, "app=sleeper")
}
