// Package dbcopy backs the vault's SQLite database up into a cairn repository on a schedule
// (docs/design/vault.md, "Backups of the vault's database"; the copies' format is
// docs/design/format.md, Part 3).
package dbcopy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/buildinfo"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Defaults of vault serve's --db-backup-every and --db-backup-keep.
const (
	DefaultEvery = time.Hour
	DefaultKeep  = 48
)

// Engine names the database a copy is of.
const Engine = "sqlite"

// tempName, in the data directory, is the copy being taken; a crash may leave it, and the next
// copy removes it.
const tempName = "vault.db.copying"

// Options configure a Copier.
type Options struct {
	// Dir is the data directory, where a copy is written before it is stored.
	Dir string
	// Every is the interval between copies, at multiples of it on the clock (default DefaultEvery).
	Every time.Duration
	// Keep is how many copies are kept, newest first (default DefaultKeep).
	Keep int
	// Observe, if set, is told of each copy: its time, or its error.
	Observe func(takenAt time.Time, err error)
	Now     func() time.Time
	Log     *slog.Logger
}

// Copier copies one vault's database into one repository.
type Copier struct {
	store *store.Store
	repo  *archive.Repository
	opts  Options
}

// New returns a Copier of st's database into repo.
func New(st *store.Store, repo *archive.Repository, opts Options) *Copier {
	opts.Every = cmp.Or(opts.Every, DefaultEvery)
	opts.Keep = cmp.Or(opts.Keep, DefaultKeep)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Copier{store: st, repo: repo, opts: opts}
}

// OpenRepository unlocks the repository in storage, creating it (encrypted) when storage holds
// none; created says so.
func OpenRepository(ctx context.Context, st blob.Storage, cred archive.Credential, now time.Time) (repo *archive.Repository, created bool, err error) {
	repo, err = archive.Open(ctx, st, cred)
	if !errors.Is(err, archive.ErrNoRepository) {
		return repo, false, err
	}
	repo, err = archive.Init(ctx, st, cred, archive.InitOptions{Encrypt: true, Now: now})
	if errors.Is(err, blob.ErrAlreadyExists) {
		// Made by another process meanwhile.
		repo, err = archive.Open(ctx, st, cred)
		return repo, false, err
	}
	return repo, err == nil, err
}

// Run copies the database every interval until ctx ends, and at once when the newest copy is
// older than the interval (or there is none).
func (c *Copier) Run(ctx context.Context) {
	if newest, err := c.newest(ctx); err != nil {
		c.opts.Log.Warn("the vault's database copies cannot be listed; the next one is taken now", "storage", c.repo.Storage().String(), "error", err.Error())
		c.copyAndPrune(ctx)
	} else if c.opts.Now().Sub(newest) >= c.opts.Every {
		c.copyAndPrune(ctx)
	}
	for {
		now := c.opts.Now()
		next := now.Truncate(c.opts.Every).Add(c.opts.Every)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		c.copyAndPrune(ctx)
	}
}

func (c *Copier) copyAndPrune(ctx context.Context) {
	copied, err := c.Copy(ctx)
	if ctx.Err() != nil {
		return
	}
	if c.opts.Observe != nil {
		c.opts.Observe(copied.TakenAt, err)
	}
	if err != nil {
		c.opts.Log.Error("the vault's database was not copied; the next interval tries again", "storage", c.repo.Storage().String(), "error", err.Error())
		return
	}
	if err := c.Prune(ctx); err != nil {
		c.opts.Log.Warn("old copies of the vault's database not deleted", "storage", c.repo.Storage().String(), "error", err.Error())
	}
}

// newest is when the newest complete copy was taken (the zero time when there is none).
func (c *Copier) newest(ctx context.Context) (time.Time, error) {
	list, err := c.repo.VaultDBCopies(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Copy != nil {
			return list[i].Copy.TakenAt, nil
		}
	}
	return time.Time{}, nil
}

// Copy takes one copy of the database and stores it.
func (c *Copier) Copy(ctx context.Context) (archive.VaultDBCopy, error) {
	began := c.opts.Now()
	meta := archive.VaultDBCopy{Name: archive.VaultDBName(began), TakenAt: began.UTC(), Engine: Engine, CairnVersion: buildinfo.Get().Version}
	schema, err := c.store.SchemaVersion(ctx)
	if err != nil {
		return meta, err
	}
	meta.SchemaVersion = schema
	path := filepath.Join(c.opts.Dir, tempName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return meta, fmt.Errorf("remove the copy a previous run left: %w", err)
	}
	defer os.Remove(path)
	if err := c.store.CopyTo(ctx, path); err != nil {
		return meta, err
	}
	f, err := os.Open(path)
	if err != nil {
		return meta, fmt.Errorf("read the copy: %w", err)
	}
	defer f.Close()
	if meta, err = c.repo.PutVaultDB(ctx, meta, f); err != nil {
		return meta, fmt.Errorf("store copy %s in %s: %w", meta.Name, c.repo.Storage(), err)
	}
	c.opts.Log.Info("vault database copied", "copy", meta.Name, "storage", c.repo.Storage().String(), "bytes", meta.Size,
		"duration", c.opts.Now().Sub(began).Round(time.Millisecond).String())
	return meta, nil
}

// Prune deletes all but the Keep newest complete copies, and incomplete ones older than the
// newest complete copy (a copy under way is newer).
func (c *Copier) Prune(ctx context.Context) error {
	list, err := c.repo.VaultDBCopies(ctx)
	if err != nil {
		return err
	}
	kept := 0
	var errs []error
	for i := len(list) - 1; i >= 0; i-- {
		l := list[i]
		if _, err := time.Parse(archive.VaultDBNameLayout, l.Name); err != nil {
			continue // not a copy's name: not ours to delete
		}
		switch {
		case l.Copy != nil && kept < c.opts.Keep:
			kept++
			continue
		case l.Copy == nil && kept == 0:
			continue
		}
		if err := c.repo.DeleteVaultDB(ctx, l.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		c.opts.Log.Info("old vault database copy deleted", "copy", l.Name, "storage", c.repo.Storage().String())
	}
	return errors.Join(errs...)
}
