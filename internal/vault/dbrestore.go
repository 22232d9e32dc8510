package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// DatabaseRestore says which copy of the vault's database to put in place, and where.
type DatabaseRestore struct {
	// DataDir is the data directory of the vault that will run on the restored database.
	DataDir string
	// Copy names the copy; empty: the newest complete one.
	Copy string
	// Force sets a database the data directory holds aside (renamed, never deleted) instead of
	// refusing.
	Force bool
	Now   func() time.Time
}

// RestoreResult says what RestoreDatabase did.
type RestoreResult struct {
	Copy archive.VaultDBCopy
	// Path is the restored database; SetAside lists the files of the database it replaced.
	Path     string
	SetAside []string
}

// restoringDir, in the data dir, is where a copy is read and checked before it is put in place.
const restoringDir = "restoring"

// RestoreDatabase puts a copy of the vault's database from repo in place in the data directory
// (docs/design/vault.md, "Backups of the vault's database"). It holds the data directory's lock
// throughout, so no vault runs on it meanwhile.
func RestoreDatabase(ctx context.Context, repo *archive.Repository, r DatabaseRestore) (RestoreResult, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	var res RestoreResult
	if err := os.MkdirAll(r.DataDir, 0o700); err != nil {
		return res, fmt.Errorf("create data dir: %w", err)
	}
	unlock, err := lockDataDir(r.DataDir)
	if err != nil {
		return res, err
	}
	defer unlock()
	name := r.Copy
	if name == "" {
		if name, err = newestCopy(ctx, repo); err != nil {
			return res, err
		}
	}
	res.Path = filepath.Join(r.DataDir, store.SQLiteFile)
	existing := databaseFiles(r.DataDir)
	if len(existing) > 0 && !r.Force {
		return res, fmt.Errorf("%s already holds a vault database (%s): give --force to set it aside (renamed to %s.replaced-<time>, not deleted) and restore copy %s in its place",
			r.DataDir, store.SQLiteFile, store.SQLiteFile, name)
	}
	staging := filepath.Join(r.DataDir, restoringDir)
	if err := os.RemoveAll(staging); err != nil {
		return res, fmt.Errorf("remove what an earlier restore left: %w", err)
	}
	defer os.RemoveAll(staging)
	if res.Copy, err = readCopy(ctx, repo, name, staging, r.Now); err != nil {
		return res, err
	}
	suffix := ".replaced-" + r.Now().UTC().Format("20060102-150405")
	for _, f := range existing {
		aside := f + suffix
		if err := os.Rename(f, aside); err != nil {
			return res, fmt.Errorf("set %s aside: %w", f, err)
		}
		res.SetAside = append(res.SetAside, aside)
	}
	for _, f := range databaseFiles(staging) {
		if err := os.Rename(f, filepath.Join(r.DataDir, filepath.Base(f))); err != nil {
			return res, fmt.Errorf("put the restored database in place: %w", err)
		}
	}
	return res, nil
}

// readCopy writes copy name into dir, checked part by part and whole, then opens it as the vault
// would (applying this cairn's newer migrations) to prove it is a vault database.
func readCopy(ctx context.Context, repo *archive.Repository, name, dir string, now func() time.Time) (archive.VaultDBCopy, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return archive.VaultDBCopy{}, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, store.SQLiteFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return archive.VaultDBCopy{}, fmt.Errorf("create the restored database: %w", err)
	}
	c, err := repo.GetVaultDB(ctx, name, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return c, fmt.Errorf("read copy %s from %s: %w", name, repo.Storage(), err)
	}
	st, err := store.OpenSQLite(ctx, dir, now)
	if err != nil {
		return c, fmt.Errorf("copy %s does not open as a vault database: %w", name, err)
	}
	return c, st.Close()
}

func newestCopy(ctx context.Context, repo *archive.Repository) (string, error) {
	list, err := repo.VaultDBCopies(ctx)
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Copy != nil {
			return list[i].Name, nil
		}
	}
	return "", fmt.Errorf("%w in %s: is it the vault's --db-backup-storage?", archive.ErrVaultDBNotFound, repo.Storage())
}

// databaseFiles lists the SQLite database in dir with its WAL and shared-memory files, those
// that exist: they move together, or the WAL of one database would be replayed into another.
func databaseFiles(dir string) []string {
	var out []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		path := filepath.Join(dir, store.SQLiteFile+suffix)
		if _, err := os.Lstat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
			out = append(out, path)
		}
	}
	return out
}
