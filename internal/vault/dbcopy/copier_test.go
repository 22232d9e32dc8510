package dbcopy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

var cred = archive.Credential{Passphrase: []byte("copies")}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newCopier(t *testing.T, keep int) (*Copier, *archive.Repository, *clock, blob.Storage) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), dir, c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storage := memory.New()
	repo, created, err := OpenRepository(t.Context(), storage, cred, c.now())
	if err != nil || !created {
		t.Fatalf("open the copies' repository: created %v, %v", created, err)
	}
	return New(st, repo, Options{Dir: dir, Every: time.Hour, Keep: keep, Now: c.now}), repo, c, storage
}

func TestCopyIsTheDatabase(t *testing.T) {
	cp, repo, _, _ := newCopier(t, 3)
	if err := cp.store.EnsureVault(t.Context(), "default"); err != nil {
		t.Fatal(err)
	}
	c, err := cp.Copy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "20261205-220000" || c.Engine != "sqlite" || c.SchemaVersion < 19 || c.Size == 0 {
		t.Fatalf("copy: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(cp.opts.Dir, tempName)); !os.IsNotExist(err) {
		t.Errorf("the copy's file was left in the data dir: %v", err)
	}
	restored := t.TempDir()
	var db bytes.Buffer
	if _, err := repo.GetVaultDB(t.Context(), c.Name, &db); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, store.SQLiteFile), db.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(t.Context(), restored, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if vaults, err := st.Vaults(t.Context()); err != nil || len(vaults) != 1 || vaults[0] != "default" {
		t.Fatalf("the copy's vaults: %v, %v", vaults, err)
	}
}

func TestPruneKeepsTheNewest(t *testing.T) {
	cp, repo, clk, storage := newCopier(t, 2)
	ctx := t.Context()
	for range 4 {
		if _, err := cp.Copy(ctx); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Hour)
	}
	// An old copy that never ended, one under way now, and something that is not a copy.
	for _, key := range []string{"vault-db/20261205-210000/parts/000001", "vault-db/20261206-020000/parts/000001", "vault-db/notes/readme"} {
		if err := storage.Put(ctx, key, strings.NewReader("x"), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cp.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := repo.VaultDBCopies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Name)
	}
	if got := strings.Join(names, " "); got != "20261206-000000 20261206-010000 20261206-020000 notes" {
		t.Fatalf("after pruning: %s", got)
	}
}

func TestRunCopiesAtStartOnlyWhenTheNewestIsStale(t *testing.T) {
	cp, repo, clk, _ := newCopier(t, 5)
	ctx := t.Context()
	run := func() {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		cp.Run(ctx) // the copy at start is taken before Run waits for the next interval
	}
	count := func() int {
		list, err := repo.VaultDBCopies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	cp.opts.Observe = func(time.Time, error) {}
	run()
	if n := count(); n != 0 {
		t.Fatalf("a cancelled run stored %d copies", n)
	}
	// Not cancelled: with no copy yet, one is taken at start.
	cp.opts.Every = 24 * time.Hour
	started := make(chan struct{})
	cp.opts.Observe = func(time.Time, error) { close(started) }
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); cp.Run(runCtx) }()
	<-started
	stop()
	<-done
	if n := count(); n != 1 {
		t.Fatalf("copies after the first start: %d, want 1", n)
	}
	// Half an interval later the newest is fresh: no copy at start.
	clk.t = clk.t.Add(12 * time.Hour)
	cp.opts.Observe = func(time.Time, error) { t.Error("a copy was taken although the newest is fresh") }
	runCtx, stop = context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	cp.Run(runCtx)
	if n := count(); n != 1 {
		t.Fatalf("copies after the second start: %d, want 1", n)
	}
}
