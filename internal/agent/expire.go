package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// runExpireSnapshots deletes a recovery point's volume snapshots and keeps the point and its
// copies (a policy's copy tier): backup.ExpireSnapshots. A spec without snapshotsOnly is refused,
// so that a job of this kind never deletes more than it says.
func (a *agent) runExpireSnapshots(ctx context.Context, j *jobRun, spec *agentv1.DeleteJob) outcome {
	if !spec.SnapshotsOnly {
		return failed(nil, fmt.Errorf("job %d of kind %s has no snapshotsOnly in its spec: refusing to delete more than its snapshots (the vault and the agent disagree on the protocol)",
			j.job.ID, j.job.Kind))
	}
	repo, err := a.openRecoveryPoint(ctx, j, spec.RecoveryPoint, spec.Storage)
	if err != nil {
		return failed(nil, err)
	}
	snaps, err := snapshot.New(a.opts.Config, snapshot.Options{Now: a.now, Logger: j.log})
	if err != nil {
		return failed(nil, err)
	}
	j.log.Info("deleting the volume snapshots of recovery point", "recoveryPoint", spec.RecoveryPoint, "reason", spec.Reason)
	j.progress(0, 0, "deleting volume snapshots")
	d, err := backup.ExpireSnapshots(ctx, repo, spec.RecoveryPoint, snaps, a.now())
	if err != nil {
		return failed(nil, fmt.Errorf("delete the snapshots of recovery point %q: %w", spec.RecoveryPoint, err))
	}
	res := &agentv1.JobResult{Warnings: keptSnapshots(j, d.SnapshotsKept)}
	j.progress(int64(d.SnapshotsDeleted), 0, "snapshots deleted")
	j.log.Info("volume snapshots deleted; the recovery point keeps its copies", "recoveryPoint", spec.RecoveryPoint,
		"snapshotsDeleted", d.SnapshotsDeleted)
	return outcome{state: agentv1.JobSucceeded, result: res}
}

// gcEvery is how often, at most, the agent collects a repository's file store garbage after
// deletions, unless a job asks.
const gcEvery = 24 * time.Hour

// gcLog remembers when the agent last collected each repository's garbage, by repository ID.
type gcLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due tells whether the repository's garbage is to be collected at now, and if so records now.
func (g *gcLog) due(repo string, now time.Time, asked bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.last[repo]; ok && !asked && now.Sub(last) < gcEvery {
		return false
	}
	if g.last == nil {
		g.last = map[string]time.Time{}
	}
	g.last[repo] = now
	return true
}

// collectGarbage runs the file store's garbage collection of repo after a deletion, at most once
// a day per repository unless asked. It only logs: the deletion succeeded whatever it does.
func (a *agent) collectGarbage(ctx context.Context, j *jobRun, repo *archive.Repository, asked bool) {
	if !a.gc.due(repo.Config().ID, a.now(), asked) {
		return
	}
	st, err := files.Open(repo, files.Options{Clock: a.now, Logger: j.log})
	if err == nil {
		j.progress(0, 0, "collecting the file store's garbage")
		var rep files.GCReport
		rep, err = st.GC(ctx, files.GCOptions{GracePeriod: time.Hour})
		if err == nil {
			j.log.Info("file store garbage collected", "deletedPacks", rep.DeletedPacks, "freedBytes", rep.FreedBytes,
				"markedBlobs", rep.MarkedBlobs, "markedBytes", rep.MarkedBytes)
			return
		}
	}
	level := "file store garbage collection failed; the next deletion retries it"
	if errors.Is(err, files.ErrCollectionRunning) {
		level = "file store garbage collection skipped: another one is running"
	}
	j.log.Warn(level, "error", err.Error())
}
