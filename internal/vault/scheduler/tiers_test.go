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

// tieredAgent is a healthy agent of a cluster with one claim, shop/data: a backup reports the
// claim held by the tiers its volume data mode asks for; deletions and expiries succeed. It
// returns the jobs it ran by kind, as "<recovery point>".
func tieredAgent(t *testing.T, st *store.Store, clk *clock, ran map[string][]string, modes map[string]string) {
	t.Helper()
	lc := jobs.New(st, clk.now)
	for {
		j, ok, err := lc.Claim(t.Context(), "prod", "east", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		c := agentv1.Completion{State: agentv1.JobSucceeded}
		switch j.Kind {
		case agentv1.KindBackup:
			mode := j.Spec.Backup.Config.VolumeData
			modes[j.Spec.Backup.RecoveryPoint] = mode
			rp := &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 3, StoredBytes: 10, Time: clk.t, Volumes: 1}
			tier := agentv1.VolumeTiers{Namespace: "shop", Claim: "data", Bytes: 1000, Snapshot: mode != archive.VolumeDataCopy,
				Copy: archive.CopiesVolumeData(mode)}
			if tier.Snapshot {
				rp.SnapshotBytes = 1000
			}
			if tier.Copy {
				rp.VolumesCopied, rp.CopyBytes, rp.CopyAddedBytes = 1, 1000, 100
			}
			rp.VolumeTiers = []agentv1.VolumeTiers{tier}
			c.Result = &agentv1.JobResult{RecoveryPoint: rp}
			ran[string(j.Kind)] = append(ran[string(j.Kind)], j.Spec.Backup.RecoveryPoint)
		case agentv1.KindRetentionDelete, agentv1.KindRetentionExpireSnapshots:
			if j.Spec.Delete.SnapshotsOnly != (j.Kind == agentv1.KindRetentionExpireSnapshots) {
				t.Fatalf("job %s with snapshotsOnly %v", j.Kind, j.Spec.Delete.SnapshotsOnly)
			}
			ran[string(j.Kind)] = append(ran[string(j.Kind)], j.Spec.Delete.RecoveryPoint)
		}
		if err := lc.Complete(t.Context(), "prod", "east", j.ID, c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCopyTierThroughTheVault: a policy backing up every 12 hours, snapshots kept 7 days and the
// first backup of each UTC day copied and kept a year, over 400 days of a moved clock: the
// scheduler asks for copies of the right backups, retention expires snapshots and then points on
// their own schedules, and usage counts what is left.
func TestCopyTierThroughTheVault(t *testing.T) {
	st, clk, s := fixture(t)
	ctx := t.Context()
	week, year := policy.Duration(7*day), policy.Duration(365*day)
	pol := policy.Policy{Name: "tiered", Schedule: policy.Schedule{EveryHours: 12}, Retention: policy.Retention{Default: week},
		Copy: &policy.CopyTier{Daily: true, Retention: policy.Retention{Default: year}}}
	if err := st.CreatePolicy(ctx, "prod", pol); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "db", Cluster: "west", Policy: "tiered",
		Backup: vaultv1.BackupConfig{SnapshotVolumes: true}, Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "pass"}})); err == nil {
		t.Fatal("an instance on an unregistered cluster")
	}
	if _, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "db", Cluster: "east", Policy: "tiered",
		Backup: vaultv1.BackupConfig{SnapshotVolumes: true}, Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "pass"}})); err != nil {
		t.Fatal(err)
	}
	start := clk.t // Monday 2026-11-23 00:30 UTC
	if err := st.SetLastScheduled(ctx, "prod", "db", start); err != nil {
		t.Fatal(err)
	}
	ran := map[string][]string{}
	modes := map[string]string{}
	// Tick a minute after each run, 00:00 and 12:00 UTC.
	for at := start.Add(11*time.Hour + 31*time.Minute); at.Before(start.Add(400 * day)); at = at.Add(12 * time.Hour) {
		clk.t = at
		tick(t, s)
		tieredAgent(t, st, clk, ran, modes)
	}
	backups := ran[agentv1.KindBackup]
	if len(backups) != 800 {
		t.Fatalf("%d backups, want 800", len(backups))
	}
	for _, b := range backups {
		want := archive.VolumeDataSnapshot
		// The first of each UTC day: 00:00, and 12:00 on the instance's first day.
		if strings.HasSuffix(b, "000000") || b == "db-20261123120000" {
			want = archive.VolumeDataSnapshotAndCopy
		}
		if modes[b] != want {
			t.Errorf("%s: volume data %q, want %q", b, modes[b], want)
		}
	}
	in, _ := st.GetInstance(ctx, "prod", "db")
	if in.ScheduledBackups != 800 || in.LastCopyAt == nil {
		t.Errorf("instance counted %d scheduled backups, last copy %v", in.ScheduledBackups, in.LastCopyAt)
	}

	// Every copied backup older than 7 days lost its snapshots once, and only those; the others
	// went whole after 7 days, the copied ones after a year.
	expired, deleted := ran[agentv1.KindRetentionExpireSnapshots], ran[agentv1.KindRetentionDelete]
	seen := map[string]bool{}
	for _, rp := range expired {
		if seen[rp] || modes[rp] != archive.VolumeDataSnapshotAndCopy {
			t.Errorf("snapshots of %s (%s) expired twice or without a copy", rp, modes[rp])
		}
		seen[rp] = true
	}
	// 401 daily copies (the first day's at 12:00, then 00:00 to 2027-12-28); those of the last 7
	// days still hold their snapshots at the end, 2027-12-28 00:01.
	if len(expired) != 394 {
		t.Errorf("%d snapshot expiries, want 394", len(expired))
	}
	copiesDeleted := 0
	for _, rp := range deleted {
		if modes[rp] == archive.VolumeDataSnapshotAndCopy {
			copiesDeleted++
			if !seen[rp] {
				t.Errorf("%s deleted whole before its snapshots expired alone", rp)
			}
		}
	}
	// The copies up to 2026-12-28 00:00 are older than a year; of the 399 backups that did not
	// copy, those of the last 7 days are left.
	if copiesDeleted != 36 || len(deleted) != 36+399-7 {
		t.Errorf("deleted %d points, %d of them copies; want %d and 36", len(deleted), copiesDeleted, 36+399-7)
	}

	list, err := st.ListRecoveryPoints(ctx, "prod", store.RecoveryPointFilter{Instance: "db"}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var both, copyOnly int
	for _, rp := range list.Items {
		switch tr := rp.VolumeTiers[0]; {
		case tr.Snapshot && tr.Copy, tr.Snapshot:
			both++
			if clk.t.Sub(rp.Time) >= 7*day {
				t.Errorf("%s holds its snapshot at age %s", rp.Name, clk.t.Sub(rp.Time))
			}
		case tr.Copy:
			copyOnly++
			if rp.SnapshotBytes != 0 || rp.Volumes != 1 || rp.ExpiresAt == nil || !rp.ExpiresAt.Equal(rp.Time.Add(365*day)) {
				t.Errorf("copy-only %s: %+v", rp.Name, rp)
			}
		}
	}
	if both != 14 || copyOnly != 358 {
		t.Errorf("%d points with snapshots, %d with copies alone; want 14 and 358", both, copyOnly)
	}
	feet, err := st.Footprints(ctx, "prod")
	if f := feet["db"]; err != nil || f.SnapshotBytes != 1000 || f.CopyBytes != 365*100 {
		t.Errorf("footprint %+v %v", f, err)
	}
}
