package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// Lifecycle moves the vault's jobs through their states over a Store.
type Lifecycle struct {
	st  Store
	now func() time.Time
	// onEnd, if set, is told of each job an agent completes: its kind, its final state and how
	// long it ran.
	onEnd func(kind Kind, state State, ran time.Duration)
}

// OnEnd has fn told of each job an agent completes, after the completion is stored.
func (l *Lifecycle) OnEnd(fn func(kind Kind, state State, ran time.Duration)) {
	l.onEnd = fn
}

// New returns the life cycle over st; now is its clock.
func New(st Store, now func() time.Time) *Lifecycle {
	return &Lifecycle{st: st, now: now}
}

// Get reads a job.
func (l *Lifecycle) Get(ctx context.Context, vault string, id int64) (Job, error) {
	r, err := l.st.GetJob(ctx, vault, id)
	if err != nil {
		return Job{}, err
	}
	return r.Decode()
}

// Queue queues a job. A backup's recovery point is nj.RecoveryPoint, or that with a suffix (-2,
// -3, ...) when a backup of the vault has taken the name; the name chosen is written into the
// job's spec.
func (l *Lifecycle) Queue(ctx context.Context, vault string, nj NewJob) (Job, error) {
	var id int64
	err := l.st.InTx(ctx, func(tx Tx) error {
		var err error
		id, err = insert(ctx, tx, vault, nj, l.now().UTC())
		return err
	})
	if err != nil {
		return Job{}, err
	}
	return l.Get(ctx, vault, id)
}

// insert queues nj in tx, created at now, its recovery point named uniquely if it is a backup.
func insert(ctx context.Context, tx Tx, vault string, nj NewJob, now time.Time) (int64, error) {
	if nj.Kind == KindBackup {
		name, err := tx.FreeRecoveryPointName(ctx, vault, nameCandidates(nj.RecoveryPoint))
		if err != nil {
			return 0, err
		}
		nj = nj.named(name)
	}
	r, err := nj.record(now)
	if err != nil {
		return 0, err
	}
	return tx.InsertJob(ctx, vault, r)
}

// named is the backup job nj making its recovery point under name.
func (nj NewJob) named(name string) NewJob {
	nj.RecoveryPoint = name
	if nj.Spec.Backup != nil {
		spec := *nj.Spec.Backup
		spec.RecoveryPoint = name
		nj.Spec.Backup = &spec
	}
	return nj
}

// Log adds a line from the vault itself to a job's log.
func (l *Lifecycle) Log(ctx context.Context, id int64, level, message string) error {
	now := l.now().UTC()
	return l.st.InTx(ctx, func(tx Tx) error {
		return tx.AppendLogs(ctx, id, []LogLine{{Time: now, Level: level, Message: message}})
	})
}

// finish ends job id, if it is still as from says, with end; ok is false when it is not. A move
// the life cycle does not allow is ErrConflict.
func finish(ctx context.Context, tx Tx, vault string, id int64, from Guard, end End) (ok bool, err error) {
	if !CanMove(from.State, end.State) {
		return false, fmt.Errorf("job %d: a %s job cannot become %s: %w", id, from.State, end.State, ErrConflict)
	}
	return tx.FinishJob(ctx, vault, id, from, end)
}

// logLines are an agent's log lines, those without a time stamped now.
func logLines(lines []agentv1.LogLine, now time.Time) []LogLine {
	out := make([]LogLine, len(lines))
	for i, l := range lines {
		out[i] = LogLine{Time: l.Time, Level: l.Level, Message: l.Message}
		if out[i].Time.IsZero() {
			out[i].Time = now
		}
	}
	return out
}
