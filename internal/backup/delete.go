package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Deleted is what deleting one recovery point did.
type Deleted struct {
	Name             string   `json:"name"`
	Files            int      `json:"files"`
	SnapshotsDeleted int      `json:"snapshotsDeleted"`
	SnapshotsKept    []string `json:"snapshotsKept,omitempty"`
	// FileSnapshotsForgotten counts the file snapshots of the point's copies it forgot; the file
	// store's garbage collection frees their data.
	FileSnapshotsForgotten int `json:"fileSnapshotsForgotten,omitempty"`
}

// ErrNeedsCluster means a recovery point holds volume snapshots and no cluster was given to delete
// them in.
var ErrNeedsCluster = errors.New("the backup holds volume snapshots")

// Delete removes a recovery point: first its volume snapshots (except those another recovery point
// still records), then the file snapshots of its copies (except those another names), then its
// files. If a snapshot cannot be deleted the files stay, so that nothing
// is orphaned and the delete can be retried. snaps may be nil for a backup without snapshots.
func Delete(ctx context.Context, repo *archive.Repository, name string, snaps *snapshot.Snapshotter) (Deleted, error) {
	out := Deleted{Name: name}
	cat, err := repo.Catalog(ctx)
	if err != nil {
		return out, err
	}
	rp, referenced, copiedElsewhere := inCatalog(cat, name)
	owner := snapshot.Owner{Repository: repo.Config().ID, RecoveryPoint: name}
	switch {
	case rp != nil && hasSnapshots(*rp):
		if snaps == nil {
			return out, fmt.Errorf("%w: deleting %q needs its cluster (%s): give --kubeconfig/--context of that cluster", ErrNeedsCluster, name, rp.Cluster.Server)
		}
		if err := snaps.HoldsSnapshotsOf(ctx, *rp); err != nil {
			return out, err
		}
		d, err := snaps.Delete(ctx, rp.Volumes, referenced)
		out.SnapshotsDeleted, out.SnapshotsKept = d.Deleted, d.Kept
		if err != nil {
			return out, fmt.Errorf("backup %q kept: %w", name, err)
		}
	case rp == nil && snaps != nil:
		// An unfinished backup recorded nothing, but may have taken snapshots before it stopped.
		n, err := snaps.DeleteUnrecorded(ctx, owner)
		out.SnapshotsDeleted = n
		if err != nil {
			return out, fmt.Errorf("backup %q kept: %w", name, err)
		}
	}
	if rp != nil {
		n, err := forgetCopies(ctx, repo, *rp, copiedElsewhere)
		out.FileSnapshotsForgotten = n
		if err != nil {
			return out, fmt.Errorf("backup %q kept: %w", name, err)
		}
	}
	out.Files, err = repo.DeleteBackup(ctx, name)
	return out, err
}

// inCatalog finds backup name in the catalogue, and the snapshot handles and file snapshots the
// other backups record.
func inCatalog(cat []archive.CatalogEntry, name string) (rp *archive.RecoveryPoint, snapshots, fileSnapshots map[string]bool) {
	snapshots, fileSnapshots = map[string]bool{}, map[string]bool{}
	for _, e := range cat {
		switch {
		case e.Name == name:
			rp = e.Manifest
		case e.Manifest != nil:
			for _, v := range e.Manifest.Volumes {
				if v.Snapshot != nil {
					snapshots[v.Snapshot.Handle] = true
				}
				if v.Copy != nil {
					fileSnapshots[v.Copy.FileSnapshot] = true
				}
			}
		}
	}
	return rp, snapshots, fileSnapshots
}

// forgetCopies forgets the file snapshots rp's copies are in, but those in keep; one already gone
// counts as forgotten.
func forgetCopies(ctx context.Context, repo *archive.Repository, rp archive.RecoveryPoint, keep map[string]bool) (int, error) {
	var st *files.Store
	n := 0
	for _, v := range rp.Volumes {
		if v.Copy == nil || v.Copy.FileSnapshot == "" || keep[v.Copy.FileSnapshot] {
			continue
		}
		if st == nil {
			var err error
			if st, err = files.Open(repo, files.Options{}); err != nil {
				return n, err
			}
		}
		if err := st.Forget(ctx, v.Copy.FileSnapshot); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return n, fmt.Errorf("forget the copy of claim %s/%s: %w", v.Namespace, v.Claim, err)
		}
		n++
	}
	return n, nil
}

func hasSnapshots(rp archive.RecoveryPoint) bool {
	for _, v := range rp.Volumes {
		if v.Snapshot != nil {
			return true
		}
	}
	return false
}

// Prune deletes every recovery point whose expiry has passed at now (retention), snapshots first.
// With dryRun it only lists them. A recovery point that cannot be deleted is reported and the
// others go on.
func Prune(ctx context.Context, repo *archive.Repository, now time.Time, snaps *snapshot.Snapshotter, dryRun bool) ([]Deleted, error) {
	cat, err := repo.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var out []Deleted
	var errs []error
	for _, e := range cat {
		if e.Manifest == nil || e.Manifest.ExpiresAt.IsZero() || e.Manifest.ExpiresAt.After(now) {
			continue
		}
		if dryRun {
			out = append(out, Deleted{Name: e.Name})
			continue
		}
		d, err := Delete(ctx, repo, e.Name, snaps)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}
