package vault

import (
	"bytes"
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

// vaultDB makes a SQLite vault database in a new directory holding one vault of that name.
func vaultDB(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureVault(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return dir
}

func vaultsIn(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), dir, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	vaults, err := st.Vaults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return vaults
}

func TestRestoreDatabaseSetsTheOldOneAsideOnlyWhenForced(t *testing.T) {
	ctx := t.Context()
	storage := memory.New()
	repo, err := archive.Init(ctx, storage, archive.Credential{Passphrase: []byte("p")},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(vaultDB(t, "copied"), store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	if _, err := repo.PutVaultDB(ctx, archive.VaultDBCopy{Name: archive.VaultDBName(taken), TakenAt: taken, Engine: "sqlite"}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	dir := vaultDB(t, "live")
	now := func() time.Time { return taken.Add(time.Hour) }

	if _, err := RestoreDatabase(ctx, repo, DatabaseRestore{DataDir: dir, Now: now}); err == nil || !strings.Contains(err.Error(), "give --force") {
		t.Fatalf("restore over a database without --force: %v", err)
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RestoreDatabase(ctx, repo, DatabaseRestore{DataDir: dir, Force: true, Now: now}); err == nil || !strings.Contains(err.Error(), "another vault process") {
		t.Fatalf("restore while a vault runs: %v", err)
	}
	unlock()

	// A damaged copy leaves the database in place.
	part := "vault-db/20261205-230000/parts/000001"
	good, err := blob.ReadAll(ctx, storage, part, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.Put(ctx, part, bytes.NewReader(append(bytes.Clone(good), 0)), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := RestoreDatabase(ctx, repo, DatabaseRestore{DataDir: dir, Force: true, Now: now}); err == nil || !strings.Contains(err.Error(), "integrity check failed") {
		t.Fatalf("restore of a damaged copy: %v", err)
	}
	if got := vaultsIn(t, dir); len(got) != 1 || got[0] != "live" {
		t.Fatalf("after a failed restore the data dir holds vaults %v", got)
	}
	if err := storage.Put(ctx, part, bytes.NewReader(good), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	res, err := RestoreDatabase(ctx, repo, DatabaseRestore{DataDir: dir, Force: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	aside := filepath.Join(dir, store.SQLiteFile+".replaced-20261206-000000")
	if res.Copy.Name != "20261205-230000" || len(res.SetAside) == 0 || res.SetAside[0] != aside {
		t.Fatalf("result: %+v", res)
	}
	if got := vaultsIn(t, dir); len(got) != 1 || got[0] != "copied" {
		t.Fatalf("restored data dir holds vaults %v", got)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Fatalf("the replaced database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, restoringDir)); !os.IsNotExist(err) {
		t.Errorf("the staging directory was left: %v", err)
	}
}
