package jobs

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Run is a run of an instance's schedule.
type Run struct {
	Instance string
	At       time.Time
	// Backup is the job the run queues (BackupJob); nil when a backup of the instance still
	// queued or running absorbs the run.
	Backup *NewJob
	// Copies: the backup is one the policy's copy tier selects (ScheduledRun).
	Copies bool
}

// RunMark is what recording a run changes of its instance (Tx.RecordScheduledRuns).
type RunMark struct {
	Instance string
	At       time.Time
	Queued   bool // a backup is queued for the run
	Copies   bool // the run's backup copies volume data (the instance's last copy)
}

// RecordRuns records each run's time as its instance's last scheduled run and queues its backup
// (named as Queue names them), counting it, and, when it copies, recording the run as the
// instance's last copy: a run's job and its record in the same transaction, many runs to a
// transaction (Store.InTxBatches), each batch in a few statements (at the top of the hour
// thousands of runs come due at once). A run whose time is not after the instance's last recorded
// run queues nothing: another scheduler recorded it (docs/design/vault.md, "Replicas"). It
// returns the IDs of the jobs it queued, in order, up to the first batch it could not record.
func (l *Lifecycle) RecordRuns(ctx context.Context, vault string, runs []Run) ([]int64, error) {
	queued := make([]int64, len(runs))
	done, err := l.st.InTxBatches(ctx, len(runs), func(tx Tx, from, to int) error {
		return recordRuns(ctx, tx, vault, runs[from:to], queued[from:to], l.now().UTC())
	})
	var ids []int64
	for _, id := range queued[:done] {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	return ids, err
}

// recordRuns records runs in tx, setting the ID of each run's job in queued (0: none).
func recordRuns(ctx context.Context, tx Tx, vault string, runs []Run, queued []int64, now time.Time) error {
	marks := make([]RunMark, len(runs))
	for i, r := range runs {
		marks[i] = RunMark{Instance: r.Instance, At: r.At, Queued: r.Backup != nil, Copies: r.Backup != nil && r.Copies}
	}
	recorded, err := tx.RecordScheduledRuns(ctx, vault, marks)
	if err != nil {
		return err
	}
	var backups []NewJob
	var of []int
	for i, r := range runs {
		queued[i] = 0
		if r.Backup != nil && recorded[i] {
			backups, of = append(backups, *r.Backup), append(of, i)
		}
	}
	ids, err := insertBackups(ctx, tx, vault, backups, now)
	if err != nil {
		return err
	}
	for k, i := range of {
		queued[i] = ids[k]
	}
	return nil
}

// insertBackups queues backup jobs, each under its recovery point's name or, when a job has it,
// the first free one after it (as insert names one), in one statement.
func insertBackups(ctx context.Context, tx Tx, vault string, njs []NewJob, now time.Time) ([]int64, error) {
	if len(njs) == 0 {
		return nil, nil
	}
	bases := make([]string, len(njs))
	for i, nj := range njs {
		bases[i] = nj.RecoveryPoint
	}
	taken, err := tx.TakenRecoveryPointNames(ctx, vault, bases)
	if err != nil {
		return nil, err
	}
	used := make(map[string]bool, len(njs))
	records := make([]Record, len(njs))
	for i, nj := range njs {
		name := nj.RecoveryPoint
		if taken[name] || used[name] {
			if name, err = tx.FreeRecoveryPointName(ctx, vault, except(used, nameCandidates(nj.RecoveryPoint))); err != nil {
				return nil, fmt.Errorf("instance %q: %w", nj.Instance, err)
			}
		}
		used[name] = true
		if records[i], err = nj.named(name).record(now); err != nil {
			return nil, fmt.Errorf("instance %q: %w", nj.Instance, err)
		}
	}
	return tx.InsertJobs(ctx, vault, records)
}

// except is names without those in skip.
func except(skip map[string]bool, names iter.Seq[string]) iter.Seq[string] {
	return func(yield func(string) bool) {
		for n := range names {
			if !skip[n] && !yield(n) {
				return
			}
		}
	}
}
