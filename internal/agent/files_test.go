package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/files"
)

// copyRepository makes a repository holding recovery point shop-1, whose claim shop/data has a
// copy of dir's files and whose claim shop/snap has a snapshot only; it returns the storage URL.
func copyRepository(t *testing.T, dir string) string {
	t.Helper()
	repoDir := t.TempDir()
	st, err := filesystem.New(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := files.Open(repo, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := fs.Backup(ctx, dir, files.BackupOptions{Source: "c/shop/data"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, "shop-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted}, Volumes: []archive.VolumeRecord{
		{Namespace: "shop", Claim: "data", Outcome: archive.VolumeCopied, Copy: &archive.VolumeCopy{FileSnapshot: snap.ID}},
		{Namespace: "shop", Claim: "snap", Outcome: archive.VolumeSnapshotted, Snapshot: &archive.VolumeSnapshot{Class: "csi"}},
	}}); err != nil {
		t.Fatal(err)
	}
	return "file://" + repoDir
}

func TestBrowseAndFetchJobs(t *testing.T) {
	dir := t.TempDir()
	orders := []byte(strings.Repeat("order 42 shipped\n", 5000))
	if err := os.MkdirAll(filepath.Join(dir, "db", "2026"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"db/orders.log": orders, "README": []byte("hi\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// A sparse file over the fetch limit costs nothing to back up.
	big, err := os.Create(filepath.Join(dir, "big.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(agentv1.MaxFetchBytes + 1); err != nil {
		t.Fatal(err)
	}
	big.Close()
	storage := agentv1.StorageLocation{URL: copyRepository(t, dir), PassphraseSecret: "repo"}
	vol := func(claim, p string) agentv1.VolumePath {
		return agentv1.VolumePath{RecoveryPoint: "shop-1", Storage: storage, Namespace: "shop", Claim: claim, Path: p}
	}
	v := newFakeVault(t)
	v.enqueue(
		&agentv1.Job{ID: 1, Kind: agentv1.KindBrowse, Spec: agentv1.JobSpec{Browse: &agentv1.BrowseJob{VolumePath: vol("data", "/")}}},
		&agentv1.Job{ID: 2, Kind: agentv1.KindBrowse, Spec: agentv1.JobSpec{Browse: &agentv1.BrowseJob{VolumePath: vol("data", "db/")}}},
		&agentv1.Job{ID: 3, Kind: agentv1.KindFetch, Spec: agentv1.JobSpec{Fetch: &agentv1.FetchJob{VolumePath: vol("data", "/db/orders.log")}}},
		&agentv1.Job{ID: 4, Kind: agentv1.KindFetch, Spec: agentv1.JobSpec{Fetch: &agentv1.FetchJob{VolumePath: vol("data", "big.img")}}},
		&agentv1.Job{ID: 5, Kind: agentv1.KindFetch, Spec: agentv1.JobSpec{Fetch: &agentv1.FetchJob{VolumePath: vol("data", "db")}}},
		&agentv1.Job{ID: 6, Kind: agentv1.KindBrowse, Spec: agentv1.JobSpec{Browse: &agentv1.BrowseJob{VolumePath: vol("snap", "")}}},
		&agentv1.Job{ID: 7, Kind: agentv1.KindBrowse, Spec: agentv1.JobSpec{Browse: &agentv1.BrowseJob{VolumePath: vol("data", "nope")}}},
		&agentv1.Job{ID: 8, Kind: agentv1.KindFetch},
	)
	env := map[string]string{"CAIRN_SECRET_REPO": testPassphrase}
	a, _ := testAgent(t, v, func(o *Options) { o.Getenv = func(k string) string { return env[k] } }, nil)
	if k := a.kinds(); !strings.Contains(strings.Join(k, ","), "browse,fetch") {
		t.Errorf("the agent announces %v, without browse and fetch", k)
	}
	start(t, a)
	waitFor(t, "eight completions", func() bool { return len(v.completion(8)) > 0 })

	root := v.completion(1)[0]
	if root.State != agentv1.JobSucceeded || root.Result == nil || root.Result.Browse == nil {
		t.Fatalf("browse /: %+v", root)
	}
	var names []string
	for _, e := range root.Result.Browse.Entries {
		names = append(names, e.Name+":"+e.Type)
	}
	if got := strings.Join(names, " "); got != "README:file big.img:file db:dir" || root.Result.Browse.Total != 3 || root.Result.Browse.Truncated {
		t.Errorf("browse /: %s %+v", got, root.Result.Browse)
	}
	db := v.completion(2)[0]
	if db.State != agentv1.JobSucceeded || db.Result.Browse.Path != "db" || len(db.Result.Browse.Entries) != 2 {
		t.Fatalf("browse db/: %+v", db.Result)
	}
	if e := db.Result.Browse.Entries[1]; e.Name != "orders.log" || e.Size != int64(len(orders)) || e.Mode != 0o640 || e.MTime.IsZero() {
		t.Errorf("db/orders.log entry: %+v", e)
	}
	sum := sha256.Sum256(orders)
	fetched := v.completion(3)[0]
	if fetched.State != agentv1.JobSucceeded || fetched.Result.Fetch == nil || fetched.Result.Fetch.SHA256 != hex.EncodeToString(sum[:]) ||
		fetched.Result.Fetch.Size != int64(len(orders)) || string(v.content(3)) != string(orders) {
		t.Errorf("fetch db/orders.log: %+v, %d bytes uploaded", fetched, len(v.content(3)))
	}
	if c := v.completion(4)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "cairn files restore shop-1/shop/data:big.img DIR") || v.content(4) != nil {
		t.Errorf("fetch of a file over the limit: %+v", c)
	}
	if c := v.completion(5)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "db is a dir: not a regular file") {
		t.Errorf("fetch of a directory: %+v", c)
	}
	if c := v.completion(6)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "holds no copy of claim shop/snap") {
		t.Errorf("browse of a claim without a copy: %+v", c)
	}
	if c := v.completion(7)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "nope: no such file or directory") {
		t.Errorf("browse of a missing path: %+v", c)
	}
	if c := v.completion(8)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "carries no fetch spec") {
		t.Errorf("fetch without its spec: %+v", c)
	}
}

func TestBrowseResultIsCut(t *testing.T) {
	var entries []files.Entry
	for i := range agentv1.MaxBrowseEntries + 5 {
		entries = append(entries, files.Entry{Path: "d/" + strings.Repeat("x", i%7+1)})
	}
	res := browseResult("d", entries)
	if len(res.Entries) != agentv1.MaxBrowseEntries || !res.Truncated || res.Total != agentv1.MaxBrowseEntries+5 {
		t.Errorf("%d entries, truncated %v, total %d", len(res.Entries), res.Truncated, res.Total)
	}
}
