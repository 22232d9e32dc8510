//go:build integration

package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/testenv"
)

const (
	agentToken = "it-agent-token"
	passphrase = "integration passphrase"
)

// sequentialVault is a fake vault that hands out its jobs one after another: the next only once
// the previous one completed, and only the first `released`.
type sequentialVault struct {
	mu          sync.Mutex
	jobs        []*agentv1.Job
	handed      int
	released    int
	heartbeats  []agentv1.Heartbeat
	reports     map[int64][]agentv1.ProgressReport
	completions map[int64]agentv1.Completion
}

func (v *sequentialVault) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	decode := func(r *http.Request, into any) {
		if err := json.NewDecoder(r.Body).Decode(into); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
	}
	id := func(r *http.Request) int64 {
		n, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		return n
	}
	mux.HandleFunc("POST /api/v1/agent/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var hb agentv1.Heartbeat
		decode(r, &hb)
		v.mu.Lock()
		v.heartbeats = append(v.heartbeats, hb)
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/agent/claim", func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.handed == v.released || (v.handed > 0 && !v.completed(v.jobs[v.handed-1].ID)) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		job := v.jobs[v.handed]
		v.handed++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(job)
	})
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/progress", func(w http.ResponseWriter, r *http.Request) {
		var rep agentv1.ProgressReport
		decode(r, &rep)
		v.mu.Lock()
		v.reports[id(r)] = append(v.reports[id(r)], rep)
		v.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(agentv1.ProgressReply{})
	})
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		var c agentv1.Completion
		decode(r, &c)
		v.mu.Lock()
		v.completions[id(r)] = c
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+agentToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"unknown token"}}`))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (v *sequentialVault) release(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.released = n
}

func (v *sequentialVault) completed(id int64) bool {
	_, ok := v.completions[id]
	return ok
}

func (v *sequentialVault) completion(id int64) (agentv1.Completion, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.completions[id]
	return c, ok
}

// logText is every log line of a job, from its progress reports and its completion.
func (v *sequentialVault) logText(id int64) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	for _, r := range v.reports[id] {
		for _, l := range r.Logs {
			fmt.Fprintf(&b, "%s %s\n", l.Level, l.Message)
		}
	}
	for _, l := range v.completions[id].Logs {
		fmt.Fprintf(&b, "%s %s\n", l.Level, l.Message)
	}
	return b.String()
}

func TestAgentBackupRestoreDelete(t *testing.T) {
	ctx := t.Context()
	cfg, client := shopCluster(t, "agent")

	repoDir := t.TempDir()
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "shop-passphrase"), []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storage := agentv1.StorageLocation{URL: "file://" + repoDir, PassphraseSecret: "shop-passphrase"}
	const rp = "shop-20250101000000"
	v := &sequentialVault{reports: map[int64][]agentv1.ProgressReport{}, completions: map[int64]agentv1.Completion{}, jobs: []*agentv1.Job{
		{ID: 1, Kind: agentv1.KindBackup, Instance: "shop", Cluster: "it", Trigger: "scheduled", Attempt: 1, Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{
			RecoveryPoint: rp, Storage: storage, Config: agentv1.BackupConfig{IncludeNamespaces: []string{"shop"}},
			DeleteIncomplete: []string{"shop-20241231000000"}}}},
		{ID: 2, Kind: agentv1.KindRestore, Cluster: "it", Trigger: "user", Attempt: 1, Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{
			Name: "shop-copy-1", RecoveryPoint: rp, SourceCluster: "it", Storage: storage,
			Options: agentv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": "shop-copy"}}}}},
		{ID: 3, Kind: agentv1.KindRestore, Cluster: "it", Trigger: "user", Attempt: 1, Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{
			Name: "shop-copy-2", RecoveryPoint: rp, SourceCluster: "it", Storage: storage,
			Options: agentv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": "shop-copy"}, ConflictPolicy: "patch", DryRun: true}}}},
		{ID: 4, Kind: agentv1.KindRetentionDelete, Instance: "shop", Cluster: "it", Trigger: "retention", Attempt: 1, Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{
			RecoveryPoint: rp, Storage: storage, Reason: "expired"}}},
	}}
	srv := httptest.NewServer(v.handler(t))
	defer srv.Close()

	logs := &testenv.LockedBuffer{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(runCtx, agent.Options{VaultURL: srv.URL, Token: agentToken, Config: cfg, SecretsDir: secrets,
			Version: "v0.it", HeartbeatEvery: 200 * time.Millisecond, ProgressEvery: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
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

	deadline := time.Now().Add(3 * time.Minute)
	await := func(id int64) {
		for {
			if _, ok := v.completion(id); ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d was not completed", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	v.release(2)
	await(1)
	await(2)
	// Change a restored object, then ask for a dry run that patches it back, then the delete.
	cm, err := client.CoreV1().ConfigMaps("shop-copy").Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["currency"] = "USD"
	if _, err := client.CoreV1().ConfigMaps("shop-copy").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v.release(4)
	await(3)
	await(4)

	// The backup.
	c, _ := v.completion(1)
	if c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.RecoveryPoint == nil {
		t.Fatalf("backup completion: %+v\n%s", c, v.logText(1))
	}
	got := c.Result.RecoveryPoint
	if got.Name != rp || got.Phase != archive.PhaseCompleted || got.Items <= 0 || got.StoredBytes <= 0 || got.Instance != "shop" ||
		got.Job != 1 || !slices.Equal(got.Namespaces, []string{"shop"}) || got.Time.IsZero() {
		t.Errorf("recovery point: %+v", got)
	}
	backupLog := v.logText(1)
	for _, want := range []string{"info job started trigger=scheduled", "recovery point of an earlier attempt is already gone recoveryPoint=shop-20241231000000",
		"initialised a new encrypted repository", "backup started backup=" + rp, "backup committed backup=" + rp + " phase=Completed", "info job finished state=succeeded"} {
		if !strings.Contains(backupLog, want) {
			t.Errorf("backup log lacks %q:\n%s", want, backupLog)
		}
	}
	v.mu.Lock()
	reports, heartbeats := len(v.reports[1]), slices.Clone(v.heartbeats)
	v.mu.Unlock()
	if reports == 0 {
		t.Error("no progress report for the backup")
	}
	if len(heartbeats) == 0 || heartbeats[0].AgentVersion != "v0.it" || !strings.HasPrefix(heartbeats[0].KubernetesVersion, "v1.") {
		t.Errorf("heartbeats: %+v", heartbeats)
	}
	// The cluster's namespaces, sorted.
	last := heartbeats[len(heartbeats)-1].Namespaces
	if !slices.IsSorted(last) || !slices.Contains(last, "default") || !slices.Contains(last, "shop") || !slices.Contains(last, "kube-system") {
		t.Errorf("the last heartbeat's namespaces: %q", last)
	}

	// The restore.
	c, _ = v.completion(2)
	if c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.Restore == nil {
		t.Fatalf("restore completion: %+v\n%s", c, v.logText(2))
	}
	var checks []string
	for _, ch := range c.Result.Checks {
		if !ch.OK {
			t.Errorf("check %s failed: %s", ch.Name, ch.Message)
		}
		checks = append(checks, ch.Name)
	}
	if got, want := strings.Join(checks, ","), "agent,storage,recovery-point,permissions,conflicts"; got != want {
		t.Errorf("checks = %s, want %s", got, want)
	}
	if conflicts := c.Result.Checks[len(c.Result.Checks)-1].Message; !strings.Contains(conflicts, "exists in the cluster") {
		t.Errorf("conflicts check: %s", conflicts)
	}
	sum := c.Result.Restore
	if sum.Name != "shop-copy-1" || sum.Phase != "Completed" || sum.DryRun || sum.Created < 3 || sum.Failed != 0 {
		t.Errorf("restore summary: %+v", sum)
	}
	if _, err := client.CoreV1().ConfigMaps("shop-copy").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("restored ConfigMap: %v", err)
	}
	if d, err := client.AppsV1().Deployments("shop-copy").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("restored Deployment: %v", err)
	} else if d.Labels["app"] != "web" {
		t.Errorf("restored Deployment labels: %v", d.Labels)
	}
	if !strings.Contains(v.logText(2), "pre-flight check passed check=permissions") {
		t.Errorf("restore log:\n%s", v.logText(2))
	}

	// The dry run.
	c, _ = v.completion(3)
	if c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.Restore == nil || !c.Result.Restore.DryRun {
		t.Fatalf("dry-run completion: %+v\n%s", c, v.logText(3))
	}
	// Every object to restore exists now (the ConfigMap, the Deployment, the namespace, and what
	// the cluster made in the namespace meanwhile); the ConfigMap differs, and the Deployment may
	// too, once its controller annotated it.
	conflicts := c.Result.Checks[len(c.Result.Checks)-1]
	m := regexp.MustCompile(`^(\d+) of (\d+) objects to restore already exist`).FindStringSubmatch(conflicts.Message)
	if !conflicts.OK || m == nil || m[1] != m[2] || !strings.Contains(conflicts.Message, "conflict policy patch brings") {
		t.Errorf("conflicts check: %+v", conflicts)
	}
	sum = c.Result.Restore
	var settings, namespace *agentv1.RestoreItem
	for i, it := range sum.Items {
		switch {
		case it.Resource == "configmaps" && it.Name == "settings" && it.Namespace == "shop-copy":
			settings = &sum.Items[i]
		case it.Resource == "namespaces":
			namespace = &sum.Items[i]
		}
	}
	if sum.Patched < 1 || sum.Created != 0 || settings == nil || settings.Action != "patch" ||
		!strings.Contains(settings.Diff, "USD") || !strings.Contains(settings.Diff, "EUR") {
		t.Errorf("dry-run summary: %+v", sum)
	}
	if namespace == nil || namespace.Name != "shop-copy" || namespace.Action != "unchanged" {
		t.Errorf("the Namespace item should carry its name in this cluster: %+v", namespace)
	}
	if cm, err := client.CoreV1().ConfigMaps("shop-copy").Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Data["currency"] != "USD" {
		t.Errorf("the dry run changed the ConfigMap: %v, %v", cm.Data, err)
	}

	// The retention delete.
	c, _ = v.completion(4)
	if c.State != agentv1.JobSucceeded {
		t.Fatalf("delete completion: %+v\n%s", c, v.logText(4))
	}
	if !strings.Contains(v.logText(4), "recovery point deleted recoveryPoint="+rp) {
		t.Errorf("delete log:\n%s", v.logText(4))
	}
	st, err := blobopen.Open(ctx, storage.URL, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	repo, err := archive.Open(ctx, st, archive.Credential{Passphrase: []byte(passphrase)})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := repo.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 0 {
		t.Errorf("the repository still holds %+v", cat)
	}
	// The restore and the asked-for dry run are recorded; the pre-flight dry run left nothing behind.
	if names, err := repo.RestoreNames(ctx); err != nil || !slices.Equal(names, []string{"shop-copy-1", "shop-copy-2"}) {
		t.Errorf("recorded restores: %v, %v", names, err)
	}
}

// shopCluster starts a control plane called name until the test ends, with the shop namespace
// createShop makes, and returns its REST config and a client.
func shopCluster(t *testing.T, name string) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	cluster, err := testenv.StartCluster(t.Context(), name, testenv.ControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.StopCluster(context.Background(), cluster); err != nil {
			t.Error(err)
		}
	})
	cfg, err := cluster.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	createShop(t, client)
	return cfg, client
}

func createShop(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	ctx := t.Context()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"currency": "EUR"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	replicas := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels}, Spec: appsv1.DeploymentSpec{
		Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "registry.k8s.io/pause:3.10"}}}}}}
	if _, err := client.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
