//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault"
)

// TestAgentRunsJobsAtOnce: an agent with a concurrency of 3 runs two backups of two instances and
// a restore of a third at once (each started before any of them finished), and all three succeed.
func TestAgentRunsJobsAtOnce(t *testing.T) {
	ctx := t.Context()
	// A longer lease than the e2e vault's: three jobs at once under the race detector can keep the
	// agent from reporting for seconds, and this test is not about noticing a dead agent.
	v := startVault(t, "", func(o *vault.Options) { o.API.Lease = 30 * time.Second })
	v.register(t, "busy", restConfigOf(t, cluster), secretsDir(t), func(o *agent.Options) { o.Concurrency = 3 })
	src := clientOf(t, cluster)
	// Enough data that a backup or a restore takes longer than the agent's claims of the others.
	payload := strings.Repeat("x", 32<<10)
	for _, ns := range []string{"busy-a", "busy-b", "busy-c"} {
		createNamespace(ctx, t, src, ns)
		for i := range 200 {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)}, Data: map[string]string{"payload": payload}}
			if _, err := src.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, ns := range []string{"busy-a", "busy-b", "busy-c"} {
		// One instance per cluster and policy: a policy each.
		if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: ns, Schedule: policy.Schedule{DailyAt: "03:00"},
			Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "busy", Policy: ns,
			Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
			Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := v.admin.BackupNow(ctx, "busy-a", vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	done := v.waitJob(t, first.ID, 2*time.Minute)
	if done.State != vaultv1.JobSucceeded || done.Result == nil || done.Result.RecoveryPoint == nil {
		t.Fatalf("first backup: %+v", done)
	}

	var ids []int64
	for _, ns := range []string{"busy-b", "busy-c"} {
		j, err := v.admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	j, err := v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: done.Result.RecoveryPoint.Name,
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{"busy-a": "busy-a-copy"}}})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, j.ID)
	var started, finished []time.Time
	for _, id := range ids {
		j := v.waitJob(t, id, 3*time.Minute)
		if j.State != vaultv1.JobSucceeded || j.StartedAt == nil || j.FinishedAt == nil {
			t.Fatalf("job %d (%s): %s %s", id, j.Kind, j.State, j.Error)
		}
		started, finished = append(started, *j.StartedAt), append(finished, *j.FinishedAt)
		t.Logf("job %d %s: %s to %s", id, j.Kind, j.StartedAt.Format("15:04:05.000"), j.FinishedAt.Format("15:04:05.000"))
	}
	if last, firstDone := slices.MaxFunc(started, time.Time.Compare), slices.MinFunc(finished, time.Time.Compare); !last.Before(firstDone) {
		t.Errorf("the jobs did not run at once: the last started at %s, the first finished at %s", last.Format("15:04:05.000"), firstDone.Format("15:04:05.000"))
	}
	restored, err := src.CoreV1().ConfigMaps("busy-a-copy").List(ctx, metav1.ListOptions{})
	if err != nil || len(restored.Items) < 200 {
		t.Fatalf("restored ConfigMaps: %d, %v", len(restored.Items), err)
	}
}
