package archive

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// writeVolumeBackup commits backup name with three volume records: one snapshotted and copied,
// one snapshotted only, one skipped.
func writeVolumeBackup(t *testing.T, r *Repository, name string) {
	t.Helper()
	w, err := r.NewBackup(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Commit(t.Context(), RecoveryPoint{StartedAt: time.Unix(1700000000, 0).UTC(), Result: BackupResult{Phase: PhaseCompleted},
		Volumes: []VolumeRecord{
			{Namespace: "shop", Claim: "data", Outcome: VolumeSnapshotted, Snapshot: &VolumeSnapshot{Handle: "snap-a", Content: "c-a"},
				Copy: &VolumeCopy{FileSnapshot: "f-a", Bytes: 10}},
			{Namespace: "shop", Claim: "logs", Outcome: VolumeSnapshotted, Snapshot: &VolumeSnapshot{Handle: "snap-b", Content: "c-b"}},
			{Namespace: "shop", Claim: "tmp", Outcome: VolumeSkipped, Reason: "claim is not bound to a volume"},
		}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotsDeletedAppliesToEveryReader(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		ctx := t.Context()
		r, st := newRepo(t, encrypt)
		writeVolumeBackup(t, r, "b")
		at := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
		if err := r.RecordSnapshotsDeleted(ctx, "b", []string{"snap-b", "snap-a"}, at); err != nil {
			t.Fatal(err)
		}
		// A retried deletion finds it written; one naming another snapshot is refused.
		if err := r.RecordSnapshotsDeleted(ctx, "b", []string{"snap-a"}, at.Add(time.Hour)); err != nil {
			t.Errorf("retry: %v", err)
		}
		if err := r.RecordSnapshotsDeleted(ctx, "b", []string{"snap-z"}, at); err == nil {
			t.Error("a second, different record accepted")
		}
		b, err := r.OpenBackup(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		vols := b.Manifest().Volumes
		if v := vols[0]; v.Snapshot != nil || v.Outcome != VolumeCopied || v.Copy == nil {
			t.Errorf("copied volume: %+v", v)
		}
		if v := vols[1]; v.Snapshot != nil || v.Outcome != VolumeFailed || v.Reason != SnapshotDeletedReason {
			t.Errorf("snapshot-only volume: %+v", v)
		}
		if v := vols[2]; v.Outcome != VolumeSkipped {
			t.Errorf("skipped volume: %+v", v)
		}
		cat, err := r.Catalog(ctx)
		if err != nil || len(cat) != 1 || cat[0].Manifest == nil || cat[0].Manifest.Volumes[0].Outcome != VolumeCopied {
			t.Errorf("catalog %+v %v", cat, err)
		}
		rep, err := r.Verify(ctx, "b")
		if err != nil || len(rep.Problems) != 0 {
			t.Errorf("verify: %v %v", rep.Problems, err)
		}

		// Tampered: every reader refuses the backup, verify names the file.
		flip(t, st, "backups/b/snapshots-deleted", 40)
		if _, err := r.OpenBackup(ctx, "b"); !errors.Is(err, ErrTampered) {
			t.Errorf("tampered record: %v", err)
		}
	}
}

func TestSnapshotsDeletedElsewhereIsRefused(t *testing.T) {
	ctx := t.Context()
	r, st := newRepo(t, true)
	writeVolumeBackup(t, r, "a")
	writeVolumeBackup(t, r, "b")
	if err := r.RecordSnapshotsDeleted(ctx, "a", []string{"snap-a"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Moved to another backup: its context no longer opens.
	put(t, st, "backups/b/snapshots-deleted", get(t, st, "backups/a/snapshots-deleted"))
	if _, err := r.OpenBackup(ctx, "b"); !errors.Is(err, ErrTampered) {
		t.Errorf("moved record: %v", err)
	}
	// On a backup without volumes, verify still checks it.
	writeBackup(t, r, "c", 5)
	put(t, st, "backups/c/snapshots-deleted", []byte(`{"format":"cairn-snapshots-deleted"}`))
	rep, err := r.Verify(ctx, "c")
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "snapshots-deleted") {
		t.Errorf("verify of a forged record: %v %v", rep.Problems, err)
	}
}
