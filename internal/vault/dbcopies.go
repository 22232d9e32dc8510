package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/vault/dbcopy"
	"github.com/cairnbackup/cairn/internal/vault/metrics"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// DatabaseCopies configure the copies of a SQLite vault's database (docs/design/vault.md,
// "Backups of the vault's database").
type DatabaseCopies struct {
	// Storage is the URL of the repository the copies go to; empty: no copies.
	Storage string
	// Credential unlocks (or creates) that repository.
	Credential archive.Credential
	// Every and Keep: the interval and how many copies are kept (zero: dbcopy's defaults).
	Every time.Duration
	Keep  int
	// Getenv gives the storage's credentials (default os.Getenv).
	Getenv func(string) string
}

// copier opens the copies' repository, so that a wrong passphrase or an unreachable storage stops
// the vault before it serves, and returns the copier the leader runs (nil without Storage).
func (d DatabaseCopies) copier(ctx context.Context, st *store.Store, m *metrics.Metrics, opts Options) (*dbcopy.Copier, error) {
	if d.Storage == "" {
		return nil, nil
	}
	if d.Every < 0 || d.Keep < 0 {
		return nil, fmt.Errorf("--db-backup-every %s and --db-backup-keep %d: give a positive interval and count", d.Every, d.Keep)
	}
	if len(d.Credential.Passphrase) == 0 && len(d.Credential.KeyFile) == 0 {
		return nil, errors.New("--db-backup-storage: the copies are encrypted: give --db-backup-passphrase-file or --db-backup-key-file, or set CAIRN_PASSPHRASE")
	}
	getenv := d.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	storage, err := blobopen.Open(ctx, d.Storage, getenv)
	if err != nil {
		return nil, fmt.Errorf("--db-backup-storage: %w", err)
	}
	repo, created, err := dbcopy.OpenRepository(ctx, storage, d.Credential, opts.Now())
	if err != nil {
		return nil, fmt.Errorf("--db-backup-storage %s: %w (the copies' repository is unlocked by --db-backup-passphrase-file, --db-backup-key-file or CAIRN_PASSPHRASE)", storage, err)
	}
	if created {
		opts.Logger.Info("a new repository for the vault's database copies was initialised; keep its passphrase or key file safe", "storage", storage.String())
	}
	return dbcopy.New(st, repo, dbcopy.Options{Dir: opts.DataDir, Every: d.Every, Keep: d.Keep, Observe: m.ObserveDatabaseCopy,
		Now: opts.Now, Log: opts.Logger}), nil
}
