//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// createNamespace creates ns and waits for its default ServiceAccount: Pods are refused until the
// controller-manager has made it.
func createNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDefaultServiceAccount(ctx, t, client, ns)
}

// ensureNamespace is createNamespace for a namespace that may exist already (the data mover's,
// shared by tests).
func ensureNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	waitDefaultServiceAccount(ctx, t, client, ns)
}

func waitDefaultServiceAccount(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s got no default service account: %v", ns, err)
	}
}

// logPodsOfFailedTest writes, when t has failed, the logs of every container of ns's pods (the
// previous run's too, after a restart) into the test log: what an in-cluster agent or data mover
// said before the failure.
func logPodsOfFailedTest(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("pods of %s: %v", ns, err)
		return
	}
	for _, pod := range pods.Items {
		for _, st := range pod.Status.ContainerStatuses {
			runs := []bool{false}
			if st.RestartCount > 0 {
				runs = []bool{true, false}
			}
			for _, previous := range runs {
				logs, err := client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: st.Name, Previous: previous}).DoRaw(ctx)
				t.Logf("logs of %s/%s %s (previous run: %t, restarts %d, err %v):\n%s", ns, pod.Name, st.Name, previous, st.RestartCount, err, logs)
			}
		}
	}
}
