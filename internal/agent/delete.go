package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// runDelete deletes a recovery point (retention, or an instance stopped with its data): its volume
// snapshots in the agent's cluster first, then the file snapshots of its copies, then its files;
// then it collects the file store's garbage when due (collectGarbage). One already gone succeeds.
func (a *agent) runDelete(ctx context.Context, j *jobRun, spec *agentv1.DeleteJob) outcome {
	repo, err := a.openRecoveryPoint(ctx, j, spec.RecoveryPoint, spec.Storage)
	if err != nil {
		return failed(nil, err)
	}
	snaps, err := snapshot.New(a.opts.Config, snapshot.Options{Now: a.now, Logger: j.log})
	if err != nil {
		return failed(nil, err)
	}
	j.log.Info("deleting recovery point", "recoveryPoint", spec.RecoveryPoint, "reason", spec.Reason, "storage", repo.Storage().String())
	j.progress(0, 0, "deleting volume snapshots, then files")
	d, err := backup.Delete(ctx, repo, spec.RecoveryPoint, snaps)
	switch {
	case errors.Is(err, archive.ErrBackupNotFound):
		j.log.Info("recovery point already gone: nothing to delete", "recoveryPoint", spec.RecoveryPoint, "snapshotsDeleted", d.SnapshotsDeleted)
		return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{}}
	case err != nil:
		return failed(nil, fmt.Errorf("delete recovery point %q: %w", spec.RecoveryPoint, err))
	}
	res := &agentv1.JobResult{Warnings: keptSnapshots(j, d.SnapshotsKept)}
	j.progress(int64(d.Files), 0, "deleted")
	j.log.Info("recovery point deleted", "recoveryPoint", spec.RecoveryPoint, "files", d.Files, "snapshotsDeleted", d.SnapshotsDeleted,
		"fileSnapshotsForgotten", d.FileSnapshotsForgotten)
	if d.FileSnapshotsForgotten > 0 || spec.GC {
		a.collectGarbage(ctx, j, repo, spec.GC)
	}
	return outcome{state: agentv1.JobSucceeded, result: res}
}

// keptSnapshots logs and returns, as warnings, the snapshots a deletion left to other recovery
// points.
func keptSnapshots(j *jobRun, kept []string) []string {
	var out []string
	for _, k := range kept {
		msg := fmt.Sprintf("kept volume snapshot %s: another recovery point still records it", k)
		j.log.Info(msg)
		out = append(out, msg)
	}
	return out
}
