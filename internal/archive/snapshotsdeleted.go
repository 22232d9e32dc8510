package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// SnapshotsDeleted records the volume snapshots of a committed backup that retention deleted
// later, keeping the backup (format §4.3.2): the manifest is never rewritten, so this file beside
// it says which of its snapshot handles are gone.
type SnapshotsDeleted struct {
	FormatVersion int       `json:"formatVersion"`
	Name          string    `json:"name"`
	DeletedAt     time.Time `json:"deletedAt"`
	Handles       []string  `json:"handles"`
}

// SnapshotDeletedReason is the reason of a volume record whose snapshot was deleted and that has
// no copy.
const SnapshotDeletedReason = "snapshot deleted by retention"

const formatSnapshotsDeleted = "cairn-snapshots-deleted"

// snapshotsDeletedFile is the file's name in its backup's folder.
const snapshotsDeletedFile = "snapshots-deleted"

func snapshotsDeletedKey(name string) string     { return backupPrefix(name) + snapshotsDeletedFile }
func snapshotsDeletedContext(name string) string { return "cairn/v1/snapshots-deleted\x00" + name }

// RecordSnapshotsDeleted writes the backup's snapshots-deleted file (create-only), naming handles
// as deleted at at. A file already there that names every one of handles is kept as it is (a
// retried deletion); one that does not is ErrExists.
func (r *Repository) RecordSnapshotsDeleted(ctx context.Context, name string, handles []string, at time.Time) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	rec := SnapshotsDeleted{FormatVersion: FormatVersion, Name: name, DeletedAt: at.UTC(), Handles: slices.Sorted(slices.Values(handles))}
	err := r.putEnvelope(ctx, snapshotsDeletedKey(name), formatSnapshotsDeleted, snapshotsDeletedContext(name), rec, time.Time{})
	if !errors.Is(err, blob.ErrAlreadyExists) {
		return err
	}
	have, found, rerr := r.readSnapshotsDeleted(ctx, name)
	if rerr != nil {
		return rerr
	}
	for _, h := range handles {
		if !found || !slices.Contains(have.Handles, h) {
			return fmt.Errorf("%s exists and does not name snapshot %s: %w", snapshotsDeletedKey(name), h, err)
		}
	}
	return nil
}

// readSnapshotsDeleted reads the backup's snapshots-deleted file; found is false when it has none.
func (r *Repository) readSnapshotsDeleted(ctx context.Context, name string) (SnapshotsDeleted, bool, error) {
	var rec SnapshotsDeleted
	key := snapshotsDeletedKey(name)
	err := r.getEnvelope(ctx, key, formatSnapshotsDeleted, snapshotsDeletedContext(name), &rec)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return rec, false, nil
	case err != nil:
		return rec, false, err
	case rec.Name != name:
		return rec, false, fmt.Errorf("%s names backup %q: %w", key, rec.Name, ErrTampered)
	}
	if err := checkVersion(key, rec.FormatVersion); err != nil {
		return rec, false, err
	}
	return rec, true, nil
}

// applySnapshotsDeleted makes rp's volume records say what the file says: a record whose snapshot
// is listed loses it and is Copied when it has a copy, else Failed.
func applySnapshotsDeleted(rp *RecoveryPoint, rec SnapshotsDeleted) {
	gone := map[string]bool{}
	for _, h := range rec.Handles {
		gone[h] = true
	}
	vols := slices.Clone(rp.Volumes)
	for i, v := range vols {
		if v.Snapshot == nil || !gone[v.Snapshot.Handle] {
			continue
		}
		v.Snapshot = nil
		if v.Copy != nil {
			v.Outcome, v.Reason = VolumeCopied, ""
		} else {
			v.Outcome, v.Reason = VolumeFailed, SnapshotDeletedReason
		}
		vols[i] = v
	}
	rp.Volumes = vols
}
