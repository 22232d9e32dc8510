package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// Claim gives the cluster's agent its oldest queued job of one of kinds (none: any kind of the
// agent protocol) whose lease key no running job holds, leased for lease; ok is false when there
// is none. A job of a kind the agent did not announce waits for an agent that runs it.
func (l *Lifecycle) Claim(ctx context.Context, vault, cluster string, lease time.Duration, kinds ...string) (job Job, ok bool, err error) {
	if len(kinds) == 0 {
		kinds = agentv1.Kinds
	}
	now := l.now().UTC()
	id, ok, err := l.st.ClaimJob(ctx, vault, cluster, kinds, now, now.Add(lease))
	if err != nil || !ok {
		return Job{}, false, err
	}
	job, err = l.Get(ctx, vault, id)
	return job, err == nil, err
}

// ReportProgress renews the lease of a job running on the cluster and records its progress and
// log lines. It returns whether a user asked to cancel the job. A job that is not running on this
// cluster (ended, cancelled, lease expired) is ErrNotFound: the agent must stop it.
func (l *Lifecycle) ReportProgress(ctx context.Context, vault, cluster string, id int64, r agentv1.ProgressReport, lease time.Duration) (bool, error) {
	now := l.now().UTC()
	var cancel bool
	err := l.st.InTx(ctx, func(tx Tx) error {
		p := Progress{Items: r.Progress.Items, Bytes: r.Progress.Bytes, Message: r.Progress.Message}
		c, ok, err := tx.RenewLease(ctx, vault, cluster, id, now.Add(lease), p)
		if err != nil {
			return err
		}
		if !ok {
			return notRunning(id, cluster)
		}
		cancel = c
		return tx.AppendLogs(ctx, id, logLines(r.Logs, now))
	})
	return cancel, err
}

// Complete records how a job running on the cluster ended: its state (a final one), error, result
// and last log lines, and what it produced (completionEffect). A job not running on the cluster
// is ErrNotFound.
func (l *Lifecycle) Complete(ctx context.Context, vault, cluster string, id int64, c agentv1.Completion) error {
	state := State(c.State)
	if !CanMove(Running, state) {
		return fmt.Errorf("state: %q is not a final job state (succeeded, partially-failed, failed, cancelled): %w", c.State, ErrInvalid)
	}
	end := End{State: state, Error: c.Error, At: l.now().UTC()}
	if c.Result != nil {
		b, err := json.Marshal(c.Result)
		if err != nil {
			return fmt.Errorf("encode result of job %d: %w", id, err)
		}
		end.Result = b
	}
	var ended Record
	err := l.st.InTx(ctx, func(tx Tx) error {
		r, err := tx.GetJob(ctx, vault, id)
		if errors.Is(err, ErrNotFound) || err == nil && (r.State != Running || r.Cluster != cluster) {
			return notRunning(id, cluster)
		}
		ended = r
		if err != nil {
			return err
		}
		end = lockMissed(r, c, end)
		ok, err := finish(ctx, tx, vault, id, Guard{State: Running}, end)
		if err != nil {
			return err
		}
		if !ok {
			return notRunning(id, cluster)
		}
		if err := tx.AppendLogs(ctx, id, logLines(c.Logs, end.At)); err != nil {
			return err
		}
		if err := recordEndEvent(ctx, tx, vault, r, end, false); err != nil {
			return err
		}
		if r.Kind == KindInventory && State(c.State) == Succeeded && c.Result != nil && c.Result.Inventory != nil {
			return reconcile(ctx, tx, vault, r, *c.Result.Inventory, end.At)
		}
		return applyEffect(ctx, tx, vault, completionEffect(r, c, end.At), end.At)
	})
	if err == nil && l.onEnd != nil && ended.StartedAt != nil {
		l.onEnd(ended.Kind, state, end.At.Sub(*ended.StartedAt))
	}
	return err
}

// lockMissed is the end of a backup whose spec asked for a lock that its agent does not report
// making (an agent that predates locks ignores the field): the point is recorded, unlocked, and
// the job partially fails saying so, instead of the vault believing it immutable.
func lockMissed(r Record, c agentv1.Completion, end End) End {
	if r.Kind != KindBackup || end.State != Succeeded || c.Result == nil || c.Result.RecoveryPoint == nil ||
		c.Result.RecoveryPoint.LockedUntil != nil {
		return end
	}
	var spec agentv1.JobSpec
	if err := json.Unmarshal(r.Spec, &spec); err != nil || spec.Backup == nil || spec.Backup.LockForSeconds == 0 {
		return end
	}
	end.State = PartiallyFailed
	end.Error = "the agent did not lock the recovery point in storage (it predates locks): upgrade the agent; the point is kept, unlocked"
	return end
}

func notRunning(id int64, cluster string) error {
	return fmt.Errorf("job %d is not running on cluster %q: %w", id, cluster, ErrNotFound)
}

// effect is what a job's completion produces beside the job's own end.
type effect struct {
	record           *RecoveryPoint // a recovery point to record
	deleted          string         // a recovery point to mark deleted
	snapshotsDeleted string         // a recovery point whose snapshots to mark deleted
}

// completionEffect is what job r, ending as c says at now, produces: a backup that reports a
// recovery point (whatever its state: a failed backup's point has a failed phase) records it
// under the job's name for it; a deletion that succeeded marks its recovery point deleted, an
// expiry of snapshots that succeeded marks its snapshots deleted.
func completionEffect(r Record, c agentv1.Completion, now time.Time) effect {
	switch {
	case r.Kind == KindBackup && c.Result != nil && c.Result.RecoveryPoint != nil:
		rp := c.Result.RecoveryPoint
		at := rp.Time
		if at.IsZero() {
			at = now
		}
		return effect{record: &RecoveryPoint{Name: r.RecoveryPoint, Instance: r.Instance, Cluster: r.Cluster, Time: at, Phase: rp.Phase,
			Items: rp.Items, RawBytes: rp.RawBytes, StoredBytes: rp.StoredBytes, Namespaces: rp.Namespaces, Volumes: rp.Volumes,
			VolumesFailed: rp.VolumesFailed, SnapshotBytes: rp.SnapshotBytes, OnDemand: rp.OnDemand, ExpiresAt: rp.ExpiresAt, Job: r.ID,
			VolumesCopied: rp.VolumesCopied, CopyBytes: rp.CopyBytes, CopyAddedBytes: rp.CopyAddedBytes, VolumeTiers: rp.VolumeTiers,
			LockedUntil: rp.LockedUntil}}
	case r.Kind == KindRetentionDelete && State(c.State) == Succeeded:
		return effect{deleted: r.RecoveryPoint}
	case r.Kind == KindRetentionExpireSnapshots && State(c.State) == Succeeded:
		return effect{snapshotsDeleted: r.RecoveryPoint}
	}
	return effect{}
}

// applyEffect records e in tx, as of at.
func applyEffect(ctx context.Context, tx Tx, vault string, e effect, at time.Time) error {
	switch {
	case e.record != nil:
		return tx.InsertRecoveryPoint(ctx, vault, *e.record)
	case e.deleted != "":
		return tx.MarkRecoveryPointDeleted(ctx, vault, e.deleted, at)
	case e.snapshotsDeleted != "":
		return tx.MarkSnapshotsDeleted(ctx, vault, e.snapshotsDeleted)
	}
	return nil
}
