package jobs

import (
	"context"
	"fmt"
)

// Cancel cancels a queued job at once and asks the agent of a running one to stop (it reports the
// job cancelled at its next report); a job that has ended is ErrConflict.
func (l *Lifecycle) Cancel(ctx context.Context, vault string, id int64, by string) (Job, error) {
	for {
		now := l.now().UTC()
		var done bool
		err := l.st.InTx(ctx, func(tx Tx) error {
			r, err := tx.GetJob(ctx, vault, id)
			if err != nil {
				return err
			}
			switch r.State {
			case Queued:
				done, err = finish(ctx, tx, vault, id, Guard{State: Queued}, End{State: Cancelled, Error: "cancelled by " + by, At: now})
			case Running:
				done, err = tx.RequestCancel(ctx, vault, id)
			default:
				return fmt.Errorf("job %d already ended %s: %w", id, r.State, ErrConflict)
			}
			if err != nil || !done {
				return err
			}
			return tx.AppendLogs(ctx, id, []LogLine{{Time: now, Level: "info", Message: "cancel requested by " + by}})
		})
		if err != nil {
			return Job{}, err
		}
		if done {
			return l.Get(ctx, vault, id)
		}
		// The job moved on while we looked (claimed, or ended): decide again.
	}
}
