package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// maxResultLines bounds the warnings and errors a job logs one by one (the result holds them all).
const maxResultLines = 50

// runBackup makes recovery point spec.RecoveryPoint of the agent's cluster.
func (a *agent) runBackup(ctx context.Context, j *jobRun, spec *agentv1.BackupJob) outcome {
	c := spec.Config
	var expires time.Time
	if spec.ExpiresAt != nil {
		expires = *spec.ExpiresAt
	}
	var lockUntil time.Time
	if spec.LockForSeconds > 0 {
		lockUntil = a.now().Add(time.Duration(spec.LockForSeconds) * time.Second).UTC().Truncate(time.Second)
	}
	got, err := a.useCases(j).Backup(ctx, usecase.BackupRequest{
		Repository: a.repository(spec.Storage, j), Name: spec.RecoveryPoint, Scope: backupScope(c),
		Volumes: usecase.Volumes{Snapshot: c.SnapshotVolumes, Class: c.SnapshotClass, Data: c.VolumeData, Mover: a.opts.Mover}, Hooks: c.BackupHooks,
		ExpiresAt: expires, LockUntil: lockUntil, DeleteEarlier: spec.DeleteIncomplete, Progress: progressOf(j),
	})
	if got == nil {
		return failed(nil, err)
	}
	a.metrics.HookRuns(metrics.BackupHook, got.RecoveryPoint.Hooks)
	res := &agentv1.JobResult{Warnings: got.Warnings}
	if err != nil {
		return failed(res, err)
	}
	rp := got.RecoveryPoint
	res.RecoveryPoint = recoveryPointOf(rp, j.job, spec)
	if !lockUntil.IsZero() {
		res.RecoveryPoint.LockedUntil = &lockUntil
	}
	res.Warnings = append(res.Warnings, rp.Result.Warnings...)
	res.Errors = append(res.Errors, rp.Result.Errors...)
	// The engine logged its errors as they happened, and the commit.
	logLines(j, slog.LevelWarn, "warning", rp.Result.Warnings)
	j.totals(int64(rp.Result.Items), rp.Result.RawBytes, "committed")
	if r := res.RecoveryPoint; len(rp.Volumes) > 0 {
		j.log.Info("volumes", "snapshotted", r.Volumes, "copied", r.VolumesCopied, "failed", r.VolumesFailed, "snapshotBytes", r.SnapshotBytes,
			"copyBytes", r.CopyBytes, "copyAddedBytes", r.CopyAddedBytes)
	}
	switch rp.Result.Phase {
	case archive.PhaseCompleted:
		return outcome{state: agentv1.JobSucceeded, result: res}
	case archive.PhasePartiallyFailed:
		return outcome{state: agentv1.JobPartiallyFailed, result: res,
			err: fmt.Sprintf("backup partially failed with %d error(s): %s", len(rp.Result.Errors), humanize.First(rp.Result.Errors))}
	}
	return outcome{state: agentv1.JobFailed, result: res,
		err: fmt.Sprintf("backup failed with %d error(s): %s", len(rp.Result.Errors), humanize.First(rp.Result.Errors))}
}

// recoveryPointOf is the vault's summary of the recovery point a backup job made.
func recoveryPointOf(rp archive.RecoveryPoint, job *agentv1.Job, spec *agentv1.BackupJob) *agentv1.RecoveryPoint {
	out := summarize(rp)
	out.Instance, out.Cluster, out.OnDemand, out.Job = job.Instance, job.Cluster, spec.OnDemand, job.ID
	return out
}

// summarize is the vault's summary of a committed recovery point, from its manifest alone.
func summarize(rp archive.RecoveryPoint) *agentv1.RecoveryPoint {
	vs := rp.VolumeSummary()
	out := &agentv1.RecoveryPoint{Name: rp.Name, Time: rp.CompletedAt,
		Phase: rp.Result.Phase, Items: int64(rp.Result.Items), RawBytes: rp.Result.RawBytes, StoredBytes: rp.Result.StoredBytes,
		Namespaces: rp.Result.Namespaces, Volumes: vs.Protected, VolumesFailed: vs.Failed, SnapshotBytes: vs.SnapshotBytes,
		VolumesCopied: vs.Copied, CopyBytes: vs.CopyBytes, CopyAddedBytes: vs.CopyAddedBytes}
	for _, v := range rp.Volumes {
		if !v.Protected() {
			continue
		}
		t := agentv1.VolumeTiers{Namespace: v.Namespace, Claim: v.Claim, Snapshot: v.Snapshot != nil, Copy: v.Copy != nil}
		if v.Snapshot != nil {
			t.Bytes = v.Snapshot.RestoreSizeBytes
		}
		if v.Copy != nil {
			t.Bytes = max(t.Bytes, v.Copy.Bytes)
		}
		out.VolumeTiers = append(out.VolumeTiers, t)
	}
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
