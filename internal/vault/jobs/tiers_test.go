package jobs_test

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

func TestScheduledRunChoosesWhichBackupsCopy(t *testing.T) {
	f := newFixture()
	tier := &policy.CopyTier{Every: 3, Retention: policy.Retention{Default: policy.Duration(365 * 24 * time.Hour)}}
	in := shop
	in.Backup.SnapshotVolumes = true
	var modes []string
	for i := range 7 {
		at := t0.Add(time.Duration(i) * time.Hour)
		in.ScheduledBackups = f.st.read().scheduled["prod/shop"]
		in.LastCopyAt = f.st.read().lastCopy["prod/shop"]
		run := jobs.ScheduledRun(in, tier, at, false)
		if _, err := f.RecordRuns(t.Context(), "prod", []jobs.Run{run, jobs.ScheduledRun(in, tier, at, true)}); err != nil {
			t.Fatal(err)
		}
		modes = append(modes, run.Backup.Spec.Backup.Config.VolumeData)
	}
	c, s := archive.VolumeDataSnapshotAndCopy, archive.VolumeDataSnapshot
	want := []string{c, s, s, c, s, s, c}
	for i := range want {
		if modes[i] != want[i] {
			t.Fatalf("volume data of runs %v, want %v", modes, want)
		}
	}
	if n := f.st.read().scheduled["prod/shop"]; n != 7 {
		t.Errorf("%d scheduled backups counted, want 7 (busy runs do not count)", n)
	}
	if last := f.st.read().lastCopy["prod/shop"]; !last.Equal(t0.Add(6 * time.Hour)) {
		t.Errorf("last copy %v", last)
	}
	// An instance that copies every backup copies only the selected ones under a copy tier.
	in.Backup.VolumeData = archive.VolumeDataCopy
	in.ScheduledBackups = 7
	if r := jobs.ScheduledRun(in, tier, t0, false); r.Backup.Spec.Backup.Config.VolumeData != archive.VolumeDataSnapshot || r.Copies {
		t.Errorf("unselected run of a copy instance: %+v", r.Backup.Spec.Backup.Config)
	}
	in.ScheduledBackups = 9
	if r := jobs.ScheduledRun(in, tier, t0, false); r.Backup.Spec.Backup.Config.VolumeData != archive.VolumeDataCopy || !r.Copies {
		t.Errorf("selected run of a copy instance: %+v", r.Backup.Spec.Backup.Config)
	}
	if r := jobs.ScheduledRun(in, nil, t0, false); r.Backup.Spec.Backup.Config.VolumeData != archive.VolumeDataCopy || r.Copies {
		t.Errorf("no copy tier: %+v", r.Backup.Spec.Backup.Config)
	}
}

func TestExpireSnapshotsJob(t *testing.T) {
	f := newFixture()
	rp := f.madePoint(t, shop)
	d := jobs.Deletion{RecoveryPoint: rp, Reason: "snapshots expired: default 7d", SnapshotsOnly: true}
	if err := f.QueueDeletions(t.Context(), "prod", shop, jobs.TriggerRetention, "scheduler", d, d); err != nil {
		t.Fatal(err)
	}
	// An agent of the first release never gets it.
	if _, ok, err := f.Claim(t.Context(), "prod", "east", time.Minute, agentv1.KindsV1...); ok || err != nil {
		t.Fatalf("claimed by an agent that does not run it: %v %v", ok, err)
	}
	j, ok, err := f.Claim(t.Context(), "prod", "east", time.Minute, agentv1.Kinds...)
	if !ok || err != nil || j.Kind != jobs.KindRetentionExpireSnapshots ||
		*j.Spec.Delete != (agentv1.DeleteJob{RecoveryPoint: rp, Storage: shop.Storage, Reason: d.Reason, SnapshotsOnly: true}) {
		t.Fatalf("claimed %+v %v %v", j, ok, err)
	}
	if _, ok, _ := f.Claim(t.Context(), "prod", "east", time.Minute); ok {
		t.Fatal("queued twice")
	}
	f.complete(t, j.ID, agentv1.Completion{State: agentv1.JobSucceeded})
	p := f.st.read().points["prod/"+rp]
	if !p.deleted.IsZero() || p.SnapshotBytes != 0 {
		t.Errorf("point after its snapshots expired: %+v", p)
	}
}
