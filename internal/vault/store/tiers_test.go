package store

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

func TestCopyTierPolicyAndRunCounters(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		year, _ := policy.ParseDuration("365d")
		p := daily("tiered")
		p.Copy = &policy.CopyTier{Every: 3, Retention: policy.Retention{Default: year, Monthly: year * 3}}
		if err := st.CreatePolicy(ctx, "prod", p); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetPolicy(ctx, "prod", "tiered")
		if err != nil || got.Copy == nil || *got.Copy != *p.Copy {
			t.Fatalf("policy read back %+v, %v", got.Copy, err)
		}
		if plain, _ := st.GetPolicy(ctx, "prod", "p-missing"); plain.Copy != nil {
			t.Fatalf("a policy without copy tier has %+v", plain.Copy)
		}

		shop := protect(t, st, "east", "shop")
		if shop.ScheduledBackups != 0 || shop.LastCopyAt != nil {
			t.Fatalf("new instance %+v", shop)
		}
		at := fixedClock().Add(time.Hour)
		nj := func() *jobs.NewJob {
			j := jobs.BackupJob(jobs.Instance{Name: "shop", Cluster: "east", Storage: storage(t, shop)}, at, jobs.BackupTrigger{Trigger: "scheduled"})
			return &j
		}
		runs := []jobs.Run{{Instance: "shop", At: at, Backup: nj(), Copies: true}, {Instance: "shop", At: at.Add(time.Hour)},
			{Instance: "shop", At: at.Add(2 * time.Hour), Backup: nj()}}
		if _, err := lifecycle(st).RecordRuns(ctx, "prod", runs); err != nil {
			t.Fatal(err)
		}
		in, err := st.GetInstance(ctx, "prod", "shop")
		if err != nil || in.ScheduledBackups != 2 || in.LastCopyAt == nil || !in.LastCopyAt.Equal(at) || !in.LastScheduled.Equal(at.Add(2*time.Hour)) {
			t.Fatalf("instance after runs: %+v %v (last copy %v)", in, err, in.LastCopyAt)
		}
	})
}

func TestSnapshotsDeletedAndUsage(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		lc := lifecycle(st)
		shop := protect(t, st, "east", "shop")
		tiers := func(snapshot, copied bool, bytes int64) []agentv1.VolumeTiers {
			return []agentv1.VolumeTiers{{Namespace: "shop", Claim: "data", Snapshot: snapshot, Copy: copied, Bytes: bytes},
				{Namespace: "shop", Claim: "logs", Snapshot: snapshot, Copy: copied, Bytes: bytes / 10}}
		}
		// Three points: the oldest copied (snapshot+copy), the others snapshots only, growing.
		for i, rp := range []agentv1.RecoveryPoint{
			{Volumes: 2, SnapshotBytes: 1100, VolumesCopied: 2, CopyBytes: 1100, CopyAddedBytes: 700, VolumeTiers: tiers(true, true, 1000)},
			{Volumes: 2, SnapshotBytes: 2200, VolumeTiers: tiers(true, false, 2000)},
			{Volumes: 2, SnapshotBytes: 3300, VolumeTiers: tiers(true, false, 3000)},
		} {
			clk.advance(time.Hour)
			name := []string{"shop-1", "shop-2", "shop-3"}[i]
			j := backupJob(t, st, shop, name)
			if _, ok, err := lc.Claim(ctx, "prod", "east", time.Minute); !ok || err != nil {
				t.Fatalf("claim: %v %v", ok, err)
			}
			rp.Phase, rp.Items, rp.StoredBytes, rp.Time = archive.PhaseCompleted, 5, 10, clk.t
			if err := lc.Complete(ctx, "prod", "east", j.ID, agentv1.Completion{State: agentv1.JobSucceeded,
				Result: &agentv1.JobResult{RecoveryPoint: &rp}}); err != nil {
				t.Fatal(err)
			}
		}
		feet, err := st.Footprints(ctx, "prod")
		if f := feet["shop"]; err != nil || f.RecoveryPoints != 3 || f.StoredBytes != 30 || f.SnapshotBytes != 3300 || f.CopyBytes != 700 {
			t.Fatalf("footprint %+v %v", f, err)
		}

		// Retention lets the oldest point's snapshots go; the agent deletes them.
		ji, err := jobs.DecodeInstance(shop.Name, shop.Cluster, shop.Backup, shop.Storage)
		if err != nil {
			t.Fatal(err)
		}
		exp := jobs.Deletion{RecoveryPoint: "shop-1", Reason: "snapshots expired", SnapshotsOnly: true}
		for range 2 {
			if err := lc.QueueDeletions(ctx, "prod", ji, jobs.TriggerRetention, "scheduler", exp); err != nil {
				t.Fatal(err)
			}
		}
		j, ok, err := lc.Claim(ctx, "prod", "east", time.Minute, agentv1.KindsV1...)
		if ok || err != nil {
			t.Fatalf("an agent of the first release claimed %+v (%v)", j, err)
		}
		j, ok, err = lc.Claim(ctx, "prod", "east", time.Minute)
		if !ok || err != nil || j.Kind != jobs.KindRetentionExpireSnapshots || !j.Spec.Delete.SnapshotsOnly {
			t.Fatalf("claimed %+v %v %v", j, ok, err)
		}
		if _, ok, _ := lc.Claim(ctx, "prod", "east", time.Minute); ok {
			t.Fatal("the expiry was queued twice")
		}
		if err := lc.Complete(ctx, "prod", "east", j.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
			t.Fatal(err)
		}
		rp, err := st.GetRecoveryPoint(ctx, "prod", "shop-1")
		if err != nil || rp.Volumes != 2 || rp.SnapshotBytes != 0 || rp.VolumesCopied != 2 || len(rp.VolumeTiers) != 2 ||
			rp.VolumeTiers[0].Snapshot || !rp.VolumeTiers[0].Copy || rp.VolumeTiers[1].Snapshot {
			t.Fatalf("after its snapshots went: %+v %v", rp, err)
		}
		feet, err = st.Footprints(ctx, "prod")
		if f := feet["shop"]; err != nil || f.SnapshotBytes != 3300 || f.CopyBytes != 700 {
			t.Fatalf("footprint %+v %v", f, err)
		}
	})
}
