package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// CatalogEntry is one backup as the storage shows it.
type CatalogEntry struct {
	Name string
	// Manifest is set for committed backups whose manifest authenticates.
	Manifest *RecoveryPoint
	// Problem says why Manifest is nil: incomplete, tampered, or unreadable.
	Problem string
}

// Catalog rebuilds the list of backups from the storage alone, sorted by name.
func (r *Repository) Catalog(ctx context.Context) ([]CatalogEntry, error) {
	names, err := r.BackupNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CatalogEntry, 0, len(names))
	for _, name := range names {
		out = append(out, r.CatalogEntry(ctx, name))
	}
	return out, nil
}

// BackupNames lists the names of the backups the storage holds files of, sorted, whether or not
// they committed.
func (r *Repository) BackupNames(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	err := r.storage.List(ctx, "backups/", func(info blob.Info) error {
		rest := strings.TrimPrefix(info.Key, "backups/")
		if name, _, ok := strings.Cut(rest, "/"); ok {
			seen[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", r.storage, err)
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// CatalogEntry reads the backup's manifest, or says why it cannot.
func (r *Repository) CatalogEntry(ctx context.Context, name string) CatalogEntry {
	e := CatalogEntry{Name: name}
	b, err := r.OpenBackup(ctx, name)
	switch {
	case err == nil:
		rp := b.Manifest()
		e.Manifest = &rp
	case errors.Is(err, ErrIncomplete):
		e.Problem = "incomplete: interrupted before it committed"
	default:
		e.Problem = err.Error()
	}
	return e
}

// DeleteBackup removes every file of a backup, the manifest first so that a half-deleted backup is
// never taken for a complete one.
func (r *Repository) DeleteBackup(ctx context.Context, name string) (int, error) {
	if err := ValidateName(name); err != nil {
		return 0, err
	}
	var keys []string
	err := r.storage.List(ctx, backupPrefix(name), func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list backup %q: %w", name, err)
	}
	if len(keys) == 0 {
		return 0, fmt.Errorf("%w: %q", ErrBackupNotFound, name)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] == manifestKey(name) && keys[j] != manifestKey(name) })
	for i, k := range keys {
		if err := r.storage.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return i, fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return len(keys), nil
}

// PutRestoreResult records a restore's result; a result of that name must not exist.
func (r *Repository) PutRestoreResult(ctx context.Context, name string, result any) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return r.putEnvelope(ctx, restoreKey(name), formatRestoreResult, restoreContext(name), result, time.Time{})
}

// RestoreResultExists tells whether a restore of that name was recorded.
func (r *Repository) RestoreResultExists(ctx context.Context, name string) (bool, error) {
	_, err := r.storage.Stat(ctx, restoreKey(name))
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// GetRestoreResult reads and authenticates a restore's result into v.
func (r *Repository) GetRestoreResult(ctx context.Context, name string, v any) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	err := r.getEnvelope(ctx, restoreKey(name), formatRestoreResult, restoreContext(name), v)
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("restore %q not found", name)
	}
	return err
}

// PutRestoreItems writes batch seq (from 1) of a large restore's items (docs/design/format.md
// 4.4), replacing a batch a restore of that name left when it stopped before its result.
func (r *Repository) PutRestoreItems(ctx context.Context, name string, seq int, items any) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	key := restoreItemsKey(name, seq)
	data, err := r.keys.encodeEnvelope(formatRestoreItems, restoreItemsContext(name, seq), items)
	if err != nil {
		return err
	}
	if err := r.storage.Put(ctx, key, bytes.NewReader(data), blob.PutOptions{}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// GetRestoreItems reads and authenticates batch seq of a restore's items into v.
func (r *Repository) GetRestoreItems(ctx context.Context, name string, seq int, v any) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return r.getEnvelope(ctx, restoreItemsKey(name, seq), formatRestoreItems, restoreItemsContext(name, seq), v)
}

// RestoreNames lists recorded restores.
func (r *Repository) RestoreNames(ctx context.Context) ([]string, error) {
	var names []string
	err := r.storage.List(ctx, "restores/", func(info blob.Info) error {
		rest := strings.TrimPrefix(info.Key, "restores/")
		if name, file, ok := strings.Cut(rest, "/"); ok && file == "result" {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}
