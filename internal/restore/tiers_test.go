package restore

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

// TestRestoreTakesTheCopyOnceRetentionDeletedTheSnapshot: a recovery point whose snapshots
// retention deleted (archive's snapshots-deleted) restores its volumes from their copies.
func TestRestoreTakesTheCopyOnceRetentionDeletedTheSnapshot(t *testing.T) {
	ctx := t.Context()
	repo, err := archive.Init(ctx, memory.New(), archive.Credential{Passphrase: []byte("pw")},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, "shop-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted},
		Volumes: []archive.VolumeRecord{
			{Namespace: "shop", Claim: "data", Driver: "d", Outcome: archive.VolumeSnapshotted, Snapshot: &archive.VolumeSnapshot{Handle: "h1"},
				Copy: &archive.VolumeCopy{FileSnapshot: "f1"}},
			{Namespace: "shop", Claim: "logs", Driver: "d", Outcome: archive.VolumeSnapshotted, Snapshot: &archive.VolumeSnapshot{Handle: "h2"}},
		}}); err != nil {
		t.Fatal(err)
	}
	if err := repo.RecordSnapshotsDeleted(ctx, "shop-1", []string{"h1", "h2"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := repo.OpenBackup(ctx, "shop-1")
	if err != nil {
		t.Fatal(err)
	}
	vols := b.Manifest().Volumes
	for _, source := range []string{SourceAuto, SourceCopy} {
		r := &run{opts: Options{VolumeSource: source}}
		if got, why := r.dataSource(ctx, vols[0]); got != SourceCopy {
			t.Errorf("%s: data comes from %q (%s), want the copy", source, got, why)
		}
		if got, why := r.dataSource(ctx, vols[1]); got != "" || why == "" {
			t.Errorf("%s: a volume without snapshot or copy comes from %q (%s)", source, got, why)
		}
	}
	r := &run{opts: Options{VolumeSource: SourceSnapshot}}
	if got, why := r.dataSource(ctx, vols[0]); got != "" || why == "" {
		t.Errorf("snapshot source of a deleted snapshot: %q (%s)", got, why)
	}
}
