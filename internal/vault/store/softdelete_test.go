package store

import (
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestSoftDeletedPointsAreKeptAndPurgedAfterTheirLock: a point a person deletes leaves the live
// lists but stays readable (and unusable) and can be brought back; it is due for purging once its
// purge time and its storage lock have both passed; once its purge is queued it cannot come back.
func TestSoftDeletedPointsAreKeptAndPurgedAfterTheirLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		shop := protect(t, st, "west", "shop")
		lc := lifecycle(st)
		j := backupJob(t, st, shop, "shop-1")
		if _, ok, err := lc.Claim(ctx, "prod", "west", time.Minute); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		locked := clk.t.Add(3 * 24 * time.Hour)
		if err := lc.Complete(ctx, "prod", "west", j.ID, agentv1.Completion{State: agentv1.JobSucceeded,
			Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 1, Time: clk.t, LockedUntil: &locked}}}); err != nil {
			t.Fatal(err)
		}
		rp, err := st.SoftDeleteRecoveryPoint(ctx, "prod", "shop-1", "alice", clk.t.Add(24*time.Hour))
		if err != nil || rp.SoftDeleted == nil || rp.SoftDeleted.By != "alice" || rp.LockedUntil == nil || !rp.LockedUntil.Equal(locked) {
			t.Fatalf("soft delete: %+v %v", rp, err)
		}
		if err := rp.Usable(); !errors.Is(err, ErrConflict) {
			t.Errorf("a soft-deleted point is usable: %v", err)
		}
		if _, err := st.SoftDeleteRecoveryPoint(ctx, "prod", "shop-1", "alice", clk.t); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted twice: %v", err)
		}
		live, _ := st.ListRecoveryPoints(ctx, "prod", RecoveryPointFilter{}, Page{})
		deleted, _ := st.ListRecoveryPoints(ctx, "prod", RecoveryPointFilter{SoftDeleted: true}, Page{})
		if len(live.Items) != 0 || len(deleted.Items) != 1 {
			t.Fatalf("live %d, deleted %d", len(live.Items), len(deleted.Items))
		}
		if good, _ := st.LastGoodBackups(ctx, "prod", archive.PhaseCompleted); len(good) != 0 {
			t.Errorf("a deleted point counts as the last good backup: %v", good)
		}
		for at, want := range map[time.Duration]int{time.Hour: 0, 2 * 24 * time.Hour: 0, 3 * 24 * time.Hour: 1} {
			due, err := st.DuePurges(ctx, "prod", clk.t.Add(at))
			if err != nil || len(due) != want {
				t.Errorf("due for purging after %s: %d, %v; want %d", at, len(due), err, want)
			}
		}
		if rp, err := st.UndeleteRecoveryPoint(ctx, "prod", "shop-1"); err != nil || rp.SoftDeleted != nil || rp.Usable() != nil {
			t.Fatalf("undelete: %+v %v", rp, err)
		}
		if _, err := st.UndeleteRecoveryPoint(ctx, "prod", "shop-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("undelete a live point: %v", err)
		}
		if n, err := st.SoftDeleteInstanceRecoveryPoints(ctx, "prod", "shop", "bob", clk.t); err != nil || n != 1 {
			t.Fatalf("delete the instance's points: %d %v", n, err)
		}
		ji, err := jobs.DecodeInstance(shop.Name, shop.Cluster, shop.Backup, shop.Storage)
		if err != nil {
			t.Fatal(err)
		}
		if err := lc.QueueDeletions(ctx, "prod", ji, jobs.TriggerRetention, "scheduler", jobs.Deletion{RecoveryPoint: "shop-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UndeleteRecoveryPoint(ctx, "prod", "shop-1"); !errors.Is(err, ErrConflict) {
			t.Errorf("undelete while purging: %v", err)
		}
	})
}

// TestLocksAreStoredOnPoliciesAndInstances: a policy's lock and an instance's override are read
// back; an override longer than the retention is refused.
func TestLocksAreStoredOnPoliciesAndInstances(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		p := daily("locked")
		p.LockFor = policy.Duration(24 * time.Hour)
		if err := st.CreatePolicy(ctx, "prod", p); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetPolicy(ctx, "prod", "locked"); err != nil || got.LockFor != p.LockFor {
			t.Fatalf("policy lock read back %s, %v", got.LockFor, err)
		}
		if _, _, err := st.RegisterCluster(ctx, "prod", "east"); err != nil {
			t.Fatal(err)
		}
		spec := InstanceSpec{Name: "web", Cluster: "east", Policy: "locked", LockFor: policy.Duration(30 * 24 * time.Hour),
			Backup: []byte(`{}`), Storage: []byte(`{"url":"file:///b/web","passphraseSecret":"pass"}`)}
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a lock longer than the 7d retention: %v", err)
		}
		spec.LockFor = policy.Duration(48 * time.Hour)
		in, err := st.CreateInstance(ctx, "prod", spec)
		if err != nil || in.LockFor != spec.LockFor {
			t.Fatalf("instance lock read back %s, %v", in.LockFor, err)
		}
		if got := p.EffectiveLockFor(in.LockFor); got != 48*time.Hour {
			t.Errorf("effective lock %s, want the instance's longer one", got)
		}
	})
}
