package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// ExpireSnapshots deletes the volume snapshots of a recovery point and keeps the point, its files
// and its copies (a vault policy's copy tier): the snapshots are deleted like Delete deletes them
// (those another recovery point still records are kept, and the point no longer claims them),
// then the repository records them deleted (archive.Repository.RecordSnapshotsDeleted), so that
// every reader sees those volumes protected by their copies alone. A snapshot that cannot be
// deleted records nothing: the expiry can be retried. A point with no snapshot left does nothing.
func ExpireSnapshots(ctx context.Context, repo *archive.Repository, name string, snaps *snapshot.Snapshotter, now time.Time) (Deleted, error) {
	out := Deleted{Name: name}
	cat, err := repo.Catalog(ctx)
	if err != nil {
		return out, err
	}
	rp, referenced, _ := inCatalog(cat, name)
	if rp == nil {
		if _, err := repo.OpenBackup(ctx, name); err != nil {
			return out, err
		}
		return out, fmt.Errorf("%w: %q", archive.ErrBackupNotFound, name)
	}
	var handles []string
	for _, v := range rp.Volumes {
		if v.Snapshot != nil {
			handles = append(handles, v.Snapshot.Handle)
		}
	}
	if len(handles) == 0 {
		return out, nil
	}
	if snaps == nil {
		return out, fmt.Errorf("%w: deleting the snapshots of %q needs its cluster (%s)", ErrNeedsCluster, name, rp.Cluster.Server)
	}
	if err := snaps.HoldsSnapshotsOf(ctx, *rp); err != nil {
		return out, err
	}
	d, err := snaps.Delete(ctx, rp.Volumes, referenced)
	out.SnapshotsDeleted, out.SnapshotsKept = d.Deleted, d.Kept
	if err != nil {
		return out, fmt.Errorf("snapshots of backup %q kept: %w", name, err)
	}
	return out, repo.RecordSnapshotsDeleted(ctx, name, handles, now)
}
