package jobs

import (
	"context"
	"fmt"
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

// RecordRuns records each run's time as its instance's last scheduled run and queues its backup
// (named as Queue names them), counting it, and, when it copies, recording the run as the
// instance's last copy: a run's job and its record in the same transaction, many runs to a
// transaction (Store.InTxEach). A run whose time is not after the instance's last recorded run
// queues nothing: another scheduler recorded it (docs/design/vault.md, "Replicas"). It returns
// the IDs of the jobs it queued, in order, up to the first run it could not record.
func (l *Lifecycle) RecordRuns(ctx context.Context, vault string, runs []Run) ([]int64, error) {
	queued := make([]int64, len(runs))
	done, err := l.st.InTxEach(ctx, len(runs), func(tx Tx, i int) error {
		r := runs[i]
		queued[i] = 0
		recorded, err := tx.RecordScheduledRun(ctx, vault, r.Instance, r.At, r.Backup != nil, r.Backup != nil && r.Copies)
		if err != nil || !recorded || r.Backup == nil {
			return err
		}
		id, err := insert(ctx, tx, vault, *r.Backup, l.now().UTC())
		if err != nil {
			return fmt.Errorf("instance %q: %w", r.Instance, err)
		}
		queued[i] = id
		return nil
	})
	var ids []int64
	for _, id := range queued[:done] {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	return ids, err
}
