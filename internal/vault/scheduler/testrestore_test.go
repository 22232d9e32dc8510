package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestScheduledTestRestores: a policy's test restores come due every 2 days from the instance's
// creation, of its newest good recovery point, into scratch namespaces of the named cluster with
// no cluster-scoped object; none while one is open.
func TestScheduledTestRestores(t *testing.T) {
	st, clk, s := fixture(t)
	ctx := t.Context()
	if _, _, err := st.RegisterCluster(ctx, "prod", "staging"); err != nil {
		t.Fatal(err)
	}
	tr := &policy.TestRestore{Every: policy.Duration(2 * day), Cluster: "staging", Checks: []policy.TestRestoreCheck{{Namespace: "db", Command: []string{"true"}}}}
	if err := st.CreatePolicy(ctx, "prod", policy.Policy{Name: "tested", Schedule: policy.Schedule{DailyAt: "02:00"},
		Retention: policy.Retention{Default: policy.Duration(10 * day)}, TestRestore: tr}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "db", Cluster: "east", Policy: "tested",
		Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{"db"}}, Storage: vaultv1.StorageLocation{URL: "file:///db", PassphraseSecret: "pass"}})); err != nil {
		t.Fatal(err)
	}
	lc := jobs.New(st, clk.now)
	open := func() []jobs.Job {
		list, err := st.ListJobs(ctx, "prod", store.JobFilter{Kind: agentv1.KindTestRestore, State: vaultv1.JobQueued}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return decoded(t, list).Items
	}
	// Two days in, the daily backups made points: the test restore takes the newest.
	newestAt := map[string]string{} // the newest point when each tick ran, by the tick's time
	var newest string
	for clk.t.Before(at(clk.t.Month(), clk.t.Day(), 0, 0).Add(2*day + 3*time.Hour)) {
		clk.t = clk.t.Add(time.Hour)
		newestAt[clk.t.Format(time.RFC3339)] = newest
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for {
			j, ok, err := lc.Claim(ctx, "prod", "east", time.Minute, agentv1.KindBackup)
			if err != nil || !ok {
				break
			}
			newest = j.Spec.Backup.RecoveryPoint
			if err := lc.Complete(ctx, "prod", "east", j.ID, agentv1.Completion{State: agentv1.JobSucceeded,
				Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Namespaces: []string{"db"}, Time: clk.t}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	queued := open()
	if len(queued) != 1 {
		t.Fatalf("%d test restores queued, want 1", len(queued))
	}
	j := queued[0]
	spec := j.Spec.TestRestore
	if j.Cluster != "staging" || j.RecoveryPoint != newestAt[j.CreatedAt.Format(time.RFC3339)] || j.Trigger != jobs.TriggerScheduled || spec == nil ||
		spec.Restore.Options.ClusterResources != "false" || spec.Restore.SourceCluster != "east" ||
		!strings.HasPrefix(spec.Restore.Options.NamespaceMapping["db"], "ct-") || spec.ReadyTimeoutSeconds != 300 ||
		len(spec.Checks) != 1 || spec.Checks[0].TimeoutSeconds != 30 {
		t.Fatalf("test restore %+v %+v", j, spec)
	}
	clk.t = clk.t.Add(3 * day)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(open()); n != 1 {
		t.Errorf("%d test restores queued while one is open", n)
	}
}
