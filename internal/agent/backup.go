package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// maxResultLines bounds the warnings and errors a job logs one by one (the result holds them all).
const maxResultLines = 50

// runBackup makes recovery point spec.RecoveryPoint of the agent's cluster.
func (a *agent) runBackup(ctx context.Context, j *jobRun, spec *wire.BackupJob) outcome {
	res := &wire.JobResult{}
	if err := archive.ValidateName(spec.RecoveryPoint); err != nil {
		return failed(nil, fmt.Errorf("recovery point: %w", err))
	}
	c := spec.Config
	sc, err := scope.New(c.ScopeSpec())
	if err != nil {
		return failed(nil, fmt.Errorf("backup configuration: %w", err))
	}
	j.progress(0, 0, "opening the repository")
	repo, err := a.openRepository(ctx, spec.Storage, true, j)
	if err != nil {
		return failed(nil, err)
	}
	snaps, err := snapshot.New(a.opts.Config, snapshot.Options{Class: c.SnapshotClass, Now: a.now, Logger: j.log})
	if err != nil {
		return failed(nil, err)
	}
	for _, name := range spec.DeleteIncomplete {
		a.deleteIncomplete(ctx, j, repo, snaps, name, res)
	}
	var volumes *snapshot.Snapshotter
	if c.SnapshotVolumes {
		volumes = snaps
	}
	runner, err := a.backupHooks(ctx, c.BackupHooks, j.log)
	if err != nil {
		return failed(res, fmt.Errorf("backup hooks: %w", err))
	}
	var expires time.Time
	if spec.ExpiresAt != nil {
		expires = *spec.ExpiresAt
	}
	j.log.Info("backing up", "recoveryPoint", spec.RecoveryPoint, "storage", repo.Storage().String(),
		"namespaces", orAll(c.IncludeNamespaces), "snapshotVolumes", c.SnapshotVolumes)
	j.progress(0, 0, "backing up")
	rp, err := backup.Run(ctx, a.opts.Config, repo, backup.Options{
		Name: spec.RecoveryPoint, Scope: sc, Now: a.now, ExpiresAt: expires, Volumes: volumes, Hooks: runner, Logger: j.log,
		Progress: func(p backup.Progress) { j.progress(p.Items, p.RawBytes, p.Resource) },
	})
	if err != nil {
		return failed(res, fmt.Errorf("backup %q: %w", spec.RecoveryPoint, err))
	}
	res.RecoveryPoint = recoveryPointOf(rp, j.job, spec)
	res.Warnings = append(res.Warnings, rp.Result.Warnings...)
	res.Errors = append(res.Errors, rp.Result.Errors...)
	// The engine logged its errors as they happened, and the commit.
	logLines(j, slog.LevelWarn, "warning", rp.Result.Warnings)
	j.progress(int64(rp.Result.Items), rp.Result.RawBytes, "committed")
	if r := res.RecoveryPoint; len(rp.Volumes) > 0 {
		j.log.Info("volumes", "snapshotted", r.Volumes, "failed", r.VolumesFailed, "snapshotBytes", r.SnapshotBytes)
	}
	switch rp.Result.Phase {
	case archive.PhaseCompleted:
		return outcome{state: wire.JobSucceeded, result: res}
	case archive.PhasePartiallyFailed:
		return outcome{state: wire.JobPartiallyFailed, result: res,
			err: fmt.Sprintf("backup partially failed with %d error(s): %s", len(rp.Result.Errors), first(rp.Result.Errors))}
	}
	return outcome{state: wire.JobFailed, result: res,
		err: fmt.Sprintf("backup failed with %d error(s): %s", len(rp.Result.Errors), first(rp.Result.Errors))}
}

// deleteIncomplete deletes the recovery point an earlier attempt left behind, with any snapshot it
// took. One that is not there is fine; one that cannot be deleted is a warning, not a reason to
// skip the new backup.
func (a *agent) deleteIncomplete(ctx context.Context, j *jobRun, repo *archive.Repository, snaps *snapshot.Snapshotter, name string, res *wire.JobResult) {
	if err := archive.ValidateName(name); err != nil {
		msg := fmt.Sprintf("recovery point %q of an earlier attempt not deleted: %v", name, err)
		j.log.Warn(msg)
		res.Warnings = append(res.Warnings, msg)
		return
	}
	d, err := backup.Delete(ctx, repo, name, snaps)
	switch {
	case errors.Is(err, archive.ErrBackupNotFound):
		j.log.Info("recovery point of an earlier attempt is already gone", "recoveryPoint", name, "snapshotsDeleted", d.SnapshotsDeleted)
	case err != nil:
		msg := fmt.Sprintf("recovery point %q of an earlier attempt could not be deleted: %v", name, err)
		j.log.Warn(msg)
		res.Warnings = append(res.Warnings, msg)
	default:
		j.log.Info("deleted the recovery point of an earlier attempt", "recoveryPoint", name, "files", d.Files, "snapshotsDeleted", d.SnapshotsDeleted)
	}
}

// recoveryPointOf is the vault's summary of a committed recovery point.
func recoveryPointOf(rp archive.RecoveryPoint, job *wire.Job, spec *wire.BackupJob) *wire.RecoveryPoint {
	snapshotted, _, failedVolumes := rp.VolumeCounts()
	var snapBytes int64
	for _, v := range rp.Volumes {
		switch {
		case v.Snapshot == nil:
		case v.Snapshot.RestoreSizeBytes > 0:
			snapBytes += v.Snapshot.RestoreSizeBytes
		default:
			snapBytes += v.CapacityBytes
		}
	}
	out := &wire.RecoveryPoint{Name: rp.Name, Instance: job.Instance, Cluster: job.Cluster, Time: rp.CompletedAt,
		Phase: rp.Result.Phase, Items: int64(rp.Result.Items), RawBytes: rp.Result.RawBytes, StoredBytes: rp.Result.StoredBytes,
		Namespaces: rp.Result.Namespaces, Volumes: snapshotted, VolumesFailed: failedVolumes, SnapshotBytes: snapBytes,
		OnDemand: spec.OnDemand, Job: job.ID}
	if !rp.ExpiresAt.IsZero() {
		t := rp.ExpiresAt
		out.ExpiresAt = &t
	}
	return out
}

// logLines logs each of lines (up to maxResultLines) to the job's log.
func logLines(j *jobRun, level slog.Level, what string, lines []string) {
	for i, l := range lines {
		if i == maxResultLines {
			j.log.Log(context.Background(), level, fmt.Sprintf("%s: and %d more (see the job's result)", what, len(lines)-i))
			return
		}
		j.log.Log(context.Background(), level, what+": "+l)
	}
}

func first(list []string) string {
	if len(list) == 0 {
		return "(none recorded)"
	}
	if len(list) == 1 {
		return list[0]
	}
	return fmt.Sprintf("%s (and %d more)", list[0], len(list)-1)
}

func orAll(list []string) any {
	if len(list) == 0 {
		return "all"
	}
	return list
}
