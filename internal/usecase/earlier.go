package usecase

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// deleteEarlier deletes the recovery points earlier attempts of a backup left behind, with any
// snapshot they took, and returns its warnings. One that is not there is fine; one that cannot be
// deleted is a warning, not a reason to skip the new backup.
func (r *Runner) deleteEarlier(ctx context.Context, repo *archive.Repository, snaps *snapshot.Snapshotter, names []string) []string {
	var warnings []string
	warn := func(msg string) {
		r.Logger.Warn(msg)
		warnings = append(warnings, msg)
	}
	for _, name := range names {
		if err := archive.ValidateName(name); err != nil {
			warn(fmt.Sprintf("recovery point %q of an earlier attempt not deleted: %v", name, err))
			continue
		}
		d, err := r.Engines.Delete(ctx, repo, name, snaps)
		switch {
		case errors.Is(err, archive.ErrBackupNotFound):
			r.Logger.Info("recovery point of an earlier attempt is already gone", "recoveryPoint", name, "snapshotsDeleted", d.SnapshotsDeleted)
		case err != nil:
			warn(fmt.Sprintf("recovery point %q of an earlier attempt could not be deleted: %v", name, err))
		default:
			r.Logger.Info("deleted the recovery point of an earlier attempt", "recoveryPoint", name, "files", d.Files, "snapshotsDeleted", d.SnapshotsDeleted)
		}
	}
	return warnings
}
