package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/internal/blob"
)

// ErrBackupNotFound means no backup of that name exists.
var ErrBackupNotFound = errors.New("backup not found")

// ErrIncomplete means the backup's manifest is missing: it was interrupted before it committed.
var ErrIncomplete = errors.New("backup is incomplete (interrupted before its manifest was written)")

// Backup is a committed backup opened for reading.
type Backup struct {
	repo *Repository
	rp   RecoveryPoint
}

// OpenBackup reads and authenticates the manifest of backup name.
func (r *Repository) OpenBackup(ctx context.Context, name string) (*Backup, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var rp RecoveryPoint
	err := r.getEnvelope(ctx, manifestKey(name), formatManifest, manifestContext(name), &rp)
	if errors.Is(err, blob.ErrNotFound) {
		if r.hasFiles(ctx, backupPrefix(name)) {
			return nil, fmt.Errorf("%q: %w; delete it with `cairn backup delete %s`", name, ErrIncomplete, name)
		}
		return nil, fmt.Errorf("%w: %q (list backups with `cairn backup list`)", ErrBackupNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	if rp.Name != name {
		return nil, fmt.Errorf("%s names backup %q: %w", manifestKey(name), rp.Name, ErrTampered)
	}
	if err := checkVersion(manifestKey(name), rp.FormatVersion); err != nil {
		return nil, err
	}
	if len(rp.Volumes) > 0 {
		deleted, found, err := r.readSnapshotsDeleted(ctx, name)
		if err != nil {
			return nil, err
		}
		if found {
			applySnapshotsDeleted(&rp, deleted)
		}
	}
	return &Backup{repo: r, rp: rp}, nil
}

func (r *Repository) hasFiles(ctx context.Context, prefix string) bool {
	found := false
	_ = r.storage.List(ctx, prefix, func(blob.Info) error {
		found = true
		return errStopList
	})
	return found
}

// Manifest returns the backup's recovery point record.
func (b *Backup) Manifest() RecoveryPoint { return b.rp }

func (b *Backup) file(name string) (FileEntry, bool) {
	for _, f := range b.rp.Files {
		if f.Name == name {
			return f, true
		}
	}
	return FileEntry{}, false
}

// Index reads the backup's index and checks it against the manifest.
func (b *Backup) Index(ctx context.Context) (*Index, error) {
	entry, ok := b.file("index")
	if !ok {
		return nil, fmt.Errorf("manifest of %q lists no index: %w", b.rp.Name, ErrTampered)
	}
	key := indexKey(b.rp.Name)
	data, err := b.repo.readAll(ctx, key, entry.Size)
	if err != nil {
		return nil, err
	}
	if err := checkEntry(key, entry, data); err != nil {
		return nil, err
	}
	plain, err := b.repo.keys.open(indexContext(b.rp.ID), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return b.repo.codec.decodeIndex(plain)
}

func checkEntry(key string, entry FileEntry, data []byte) error {
	if int64(len(data)) != entry.Size {
		return fmt.Errorf("%s holds %d bytes, the manifest says %d: %w", key, len(data), entry.Size, ErrTampered)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != entry.SHA256 {
		return fmt.Errorf("%s: checksum mismatch: %w", key, ErrTampered)
	}
	return nil
}

// ReadGroup reads every section of a group in order and calls fn for each item. A section that
// cannot be read does not stop the others; the first such error is returned at the end.
func (b *Backup) ReadGroup(ctx context.Context, g IndexGroup, fn func(item []byte) error) error {
	var first error
	err := b.ReadGroups(ctx, []IndexGroup{g}, func(_ int, item []byte) error { return fn(item) }, func(_ int, err error) {
		if first == nil {
			first = err
		}
	})
	if err != nil {
		return err
	}
	return first
}
