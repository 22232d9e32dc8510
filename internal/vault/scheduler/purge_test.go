package scheduler

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestScheduledBackupsAreLockedAndPurgedAfterTheirLock: a policy's lock reaches the scheduled
// backup's job; a point deleted by a person is purged only once its purge time and its lock have
// both passed, with the deletion naming who deleted it.
func TestScheduledBackupsAreLockedAndPurgedAfterTheirLock(t *testing.T) {
	st, clk, s := fixture(t)
	ctx := t.Context()
	pol := policy.Policy{Name: "locked", Schedule: policy.Schedule{EveryHours: 4},
		Retention: policy.Retention{Default: policy.Duration(2 * day)}, LockFor: policy.Duration(day)}
	if err := st.CreatePolicy(ctx, "prod", pol); err != nil {
		t.Fatal(err)
	}
	spec := instanceSpec(t, vaultv1.InstanceSpec{Name: "ledger", Cluster: "east", Policy: "locked",
		Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "pass"}})
	spec.LockFor = policy.Duration(36 * time.Hour)
	if _, err := st.CreateInstance(ctx, "prod", spec); err != nil {
		t.Fatal(err)
	}
	if err := st.SetLastScheduled(ctx, "prod", "ledger", clk.t); err != nil {
		t.Fatal(err)
	}
	clk.t = time.Date(2026, 11, 23, 4, 0, 5, 0, time.UTC)
	tick(t, s)
	runAgent(t, st, clk)
	rp, err := st.GetRecoveryPoint(ctx, "prod", "ledger-20261123040000")
	if err != nil || rp.LockedUntil == nil || !rp.LockedUntil.Equal(clk.t.Add(36*time.Hour)) {
		t.Fatalf("the scheduled backup's lock: %+v %v; want the instance's 36h", rp.LockedUntil, err)
	}
	if _, err := st.SoftDeleteRecoveryPoint(ctx, "prod", rp.Name, "alice", clk.t.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{2 * time.Hour, 30 * time.Hour} {
		clk.t = rp.Time.Add(at)
		tick(t, s)
		if _, dels := runAgent(t, st, clk); len(dels) != 0 {
			t.Fatalf("%s after the backup, locked for 36h: purged %v", at, dels)
		}
	}
	clk.t = rp.Time.Add(37 * time.Hour)
	tick(t, s)
	jobsList, err := st.ListJobs(ctx, "prod", store.JobFilter{Instance: "ledger"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, j := range decoded(t, jobsList).Items {
		if j.Spec.Delete != nil && j.Spec.Delete.RecoveryPoint == rp.Name && j.Spec.Delete.GC {
			found = true
			if want := "deleted by alice at 2026-11-23T04:00:05Z"; len(j.Spec.Delete.Reason) < len(want) || j.Spec.Delete.Reason[:len(want)] != want {
				t.Errorf("purge reason %q", j.Spec.Delete.Reason)
			}
		}
	}
	if !found {
		t.Fatal("no purge once the lock ended")
	}
	if _, dels := runAgent(t, st, clk); len(dels) != 1 {
		t.Fatalf("purged %v", dels)
	}
}
