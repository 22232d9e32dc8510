//go:build integration

package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/promtest"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestMetricsScrapedByPrometheus runs an agent against a real kube-apiserver and has a real
// Prometheus (Debian's package, internal/promtest) scrape its /metrics while it runs a backup with
// a BackupHook. Prometheus then holds the job's series (ended, by kind and state; items and bytes
// from its progress; its duration; none left running), the storage's (operations and bytes of the
// file:// backend), the hook runs' (the cluster has no node, so the hook commands cannot be exec'd
// and fail: a real run with a real outcome), the vault calls' and the last accepted heartbeat.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	ctx := t.Context()
	cfg, client := shopCluster(t, "agent-metrics")
	hookedPod(t, client, "shop", "db")
	if _, err := crds.Install(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	createBackupHook(t, cfg, "shop", "quiesce")

	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "shop-passphrase"), []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storage := agentv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: "shop-passphrase"}
	v := &sequentialVault{reports: map[int64][]agentv1.ProgressReport{}, completions: map[int64]agentv1.Completion{}, jobs: []*agentv1.Job{
		{ID: 1, Kind: agentv1.KindBackup, Instance: "shop", Cluster: "it", Trigger: "scheduled", Attempt: 1, Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{
			RecoveryPoint: "shop-20250101000000", Storage: storage,
			Config: agentv1.BackupConfig{IncludeNamespaces: []string{"shop"}, BackupHooks: []string{"shop/quiesce"}}}}},
	}}
	srv := httptest.NewServer(v.handler(t))
	defer srv.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, ln.Addr().String())

	logs := &testenv.LockedBuffer{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(runCtx, agent.Options{VaultURL: srv.URL, Token: agentToken, Config: cfg, SecretsDir: secrets,
			Version: "v0.it", HeartbeatEvery: 200 * time.Millisecond, ProgressEvery: 200 * time.Millisecond,
			Metrics: metrics.New(), MetricsListener: ln, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the agent did not stop")
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	// Prometheus sees the agent's metrics before any job.
	prom.Wait(t, `up{job="cairn"}`, time.Minute, func(v float64) bool { return v == 1 })
	prom.Wait(t, `cairn_agent_jobs_total{kind="backup", state="succeeded"}`, 30*time.Second, func(v float64) bool { return v == 0 })

	v.release(1)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, ok := v.completion(1); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backup was not completed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, _ := v.completion(1)
	if c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.RecoveryPoint == nil {
		t.Fatalf("backup completion: %+v\n%s", c, v.logText(1))
	}
	items := float64(c.Result.RecoveryPoint.Items)

	within := 30 * time.Second
	positive := func(v float64) bool { return v > 0 }
	for _, q := range []struct {
		query string
		cond  func(float64) bool
	}{
		{`cairn_agent_jobs_total{kind="backup", state="succeeded"}`, func(v float64) bool { return v == 1 }},
		{`sum(cairn_agent_jobs_total{state!="succeeded"})`, func(v float64) bool { return v == 0 }},
		{`cairn_agent_job_duration_seconds_count{kind="backup", state="succeeded"}`, func(v float64) bool { return v == 1 }},
		{`cairn_agent_jobs_running{kind="backup"}`, func(v float64) bool { return v == 0 }},
		// The items the backup's progress counted: its objects, each once.
		{`cairn_agent_job_items_total{kind="backup"}`, func(v float64) bool { return v == items }},
		{`cairn_agent_job_bytes_total{kind="backup"}`, positive},
		{`cairn_blob_operations_total{backend="file", op="put", result="ok"}`, positive},
		{`cairn_blob_bytes_total{backend="file", op="put"}`, positive},
		{`sum(cairn_blob_operations_total{result="error"})`, func(v float64) bool { return v == 0 }},
		{`cairn_blob_operation_duration_seconds_count{backend="file", op="get"}`, positive},
		{`cairn_agent_hook_runs_total{kind="BackupHook", phase="pre", result="failed"}`, func(v float64) bool { return v == 1 }},
		{`cairn_agent_hook_runs_total{kind="BackupHook", phase="post", result="failed"}`, func(v float64) bool { return v == 1 }},
		{`cairn_agent_vault_calls_total{call="complete", result="ok"}`, func(v float64) bool { return v == 1 }},
		{`cairn_agent_vault_calls_total{call="progress", result="ok"}`, positive},
		{`time() - cairn_agent_last_heartbeat_timestamp_seconds`, func(v float64) bool { return v >= -5 && v < 60 }},
		{`go_goroutines{job="cairn"}`, positive},
		{`process_resident_memory_bytes{job="cairn"}`, positive},
	} {
		prom.Wait(t, q.query, within, q.cond)
	}
	// rate() gives objects per second, as the dashboard's panel asks it.
	prom.Wait(t, `sum(rate(cairn_agent_job_items_total{kind="backup"}[1m]))`, within, positive)
	// No recovery point, namespace or path in any label.
	for _, label := range []string{"recovery_point", "namespace", "path", "name", "key"} {
		prom.Wait(t, fmt.Sprintf(`count({__name__=~"cairn_.+", %s=~".+"}) or vector(0)`, label), within, func(v float64) bool { return v == 0 })
	}
}

// hookedPod makes a pod the backup hooks select: Running as far as the API says (no node runs it:
// the cluster has none, and a scheduler name no scheduler answers to keeps it unbound).
func hookedPod(t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := t.Context()
	// The pod needs the namespace's default ServiceAccount, which a controller makes.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount in %s: %v", ns, err)
		}
	}
	pod, err := client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{SchedulerName: "cairn-test-none", Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Image: "registry.k8s.io/pause:3.10", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createBackupHook makes a BackupHook with one pre-hook and one post-hook in the pods labelled
// app=db of ns; their failures do not stop the backup.
func createBackupHook(t *testing.T, cfg *rest.Config, ns, name string) {
	t.Helper()
	exec := &v1alpha1.ExecHook{Container: "main", Command: []string{"sync"}, OnError: v1alpha1.HookErrorContinue,
		Timeout: metav1.Duration{Duration: 10 * time.Second}}
	hook := &v1alpha1.BackupHook{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "BackupHook"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.BackupHookSpec{BackupHook: []v1alpha1.BackupHookRule{{Name: "db", IncludedNamespaces: []string{ns},
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			PreHooks:      []v1alpha1.BackupResourceHook{{Exec: exec}}, PostHooks: []v1alpha1.BackupResourceHook{{Exec: exec}}}}}}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(hook)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(v1alpha1.BackupHookResource).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: obj},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
