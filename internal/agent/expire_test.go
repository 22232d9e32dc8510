package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/files"
)

// copiedRepository makes a repository whose recovery point name holds one volume by its copy
// alone: a file snapshot of a small directory, the record Copied. It returns the storage URL and
// the file snapshot's ID.
func copiedRepository(t *testing.T, name string) (string, string) {
	t.Helper()
	url := testRepository(t, "other")
	dir := strings.TrimPrefix(url, "file://")
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	repo, err := archive.Open(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)})
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "f"), []byte("volume data"), 0o600); err != nil {
		t.Fatal(err)
	}
	fst, err := files.Open(repo, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := fst.Backup(ctx, data, files.BackupOptions{Source: "c/shop/data"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted},
		Volumes: []archive.VolumeRecord{{Namespace: "shop", Claim: "data", Outcome: archive.VolumeCopied,
			Copy: &archive.VolumeCopy{FileSnapshot: snap.ID, Source: "c/shop/data", Bytes: 11}}}}); err != nil {
		t.Fatal(err)
	}
	return url, snap.ID
}

func TestExpireSnapshotsAndDeleteCopies(t *testing.T) {
	url, fileSnap := copiedRepository(t, "shop-1")
	storage := agentv1.StorageLocation{URL: url, PassphraseSecret: "repo"}
	del := func(snapshotsOnly, gc bool) agentv1.JobSpec {
		return agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: "shop-1", Storage: storage, Reason: "expired",
			SnapshotsOnly: snapshotsOnly, GC: gc}}
	}
	v := newFakeVault(t)
	v.enqueue(
		&agentv1.Job{ID: 1, Kind: agentv1.KindRetentionExpireSnapshots, Spec: del(true, false)},
		&agentv1.Job{ID: 2, Kind: agentv1.KindRetentionExpireSnapshots, Spec: del(false, false)},
		&agentv1.Job{ID: 3, Kind: agentv1.KindRetentionDelete, Spec: del(false, false)},
	)
	env := map[string]string{"CAIRN_SECRET_REPO": testPassphrase}
	a, _ := testAgent(t, v, func(o *Options) { o.Getenv = func(k string) string { return env[k] } }, nil)
	if !slices.Contains(a.kinds(), agentv1.KindRetentionExpireSnapshots) {
		t.Fatalf("the agent announces %v", a.kinds())
	}
	start(t, a)
	waitFor(t, "three completions", func() bool { return len(v.completion(3)) > 0 })

	// The point holds no snapshot any more: nothing to delete, and it stays.
	if c := v.completion(1)[0]; c.State != agentv1.JobSucceeded || !hasLog(v.logs(1), "snapshotsDeleted=0") {
		t.Errorf("expiry: %+v\n%+v", c, v.logs(1))
	}
	if c := v.completion(2)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "refusing to delete more than its snapshots") {
		t.Errorf("expiry without snapshotsOnly: %+v", c)
	}
	c := v.completion(3)[0]
	if c.State != agentv1.JobSucceeded || !hasLog(v.logs(3), "fileSnapshotsForgotten=1") || !hasLog(v.logs(3), "file store garbage collected") {
		t.Errorf("delete: %+v\n%+v", c, v.logs(3))
	}
	if _, err := os.Stat(filepath.Join(strings.TrimPrefix(url, "file://"), "files", "snapshots", fileSnap)); !os.IsNotExist(err) {
		t.Errorf("the copy's file snapshot is still there: %v", err)
	}
}

func TestGCLogOncePerDayUnlessAsked(t *testing.T) {
	var g gcLog
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		repo  string
		asked bool
		want  bool
	}{
		{0, "r1", false, true}, {time.Hour, "r1", false, false}, {time.Hour, "r2", false, true},
		{2 * time.Hour, "r1", true, true}, {25 * time.Hour, "r1", false, false}, {27 * time.Hour, "r1", false, true},
	} {
		if got := g.due(tc.repo, now.Add(tc.after), tc.asked); got != tc.want {
			t.Errorf("%s after %s (asked %v): %v, want %v", tc.repo, tc.after, tc.asked, got, tc.want)
		}
	}
}
