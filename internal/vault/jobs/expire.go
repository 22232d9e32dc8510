package jobs

import (
	"context"
	"errors"
	"fmt"
)

// Expired is a job whose agent stopped reporting, and the retry queued for it (0 if none).
type Expired struct {
	Vault string
	Job   int64
	Retry int64
}

// errRaced means a job changed between the life cycle's reading it and its change.
var errRaced = errors.New("changed meanwhile")

// ExpireLeases fails the running jobs, of every vault, whose lease ran out ("the agent stopped
// reporting") and queues the next attempt of a backup that has attempts left (MaxAttempts): a new
// recovery point, named as any backup's, whose job first deletes the incomplete one of the failed
// attempt. A job whose agent reported meanwhile is left running.
func (l *Lifecycle) ExpireLeases(ctx context.Context) ([]Expired, error) {
	now := l.now().UTC()
	refs, err := l.st.ExpiredLeases(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Expired
	for _, ref := range refs {
		rec, err := l.st.GetJob(ctx, ref.Vault, ref.ID)
		if err != nil {
			return out, err
		}
		j, err := rec.Decode()
		if err != nil {
			return out, err
		}
		e := Expired{Vault: ref.Vault, Job: ref.ID}
		err = l.st.InTx(ctx, func(tx Tx) error {
			end := End{State: Failed, Error: leaseExpiredError, At: now}
			ok, err := finish(ctx, tx, ref.Vault, ref.ID, Guard{State: Running, LeaseEndedBefore: now}, end)
			if err != nil {
				return err
			}
			if !ok {
				return errRaced
			}
			msg := "the agent stopped reporting: job failed"
			if retry, ok := retryOf(j, now); ok {
				if e.Retry, err = insert(ctx, tx, ref.Vault, retry, now); err != nil {
					return err
				}
				msg = fmt.Sprintf("the agent stopped reporting: job failed; retried as job %d (attempt %d of %d)", e.Retry, retry.Attempt, MaxAttempts)
			}
			if err := recordEndEvent(ctx, tx, ref.Vault, rec, end, e.Retry != 0); err != nil {
				return err
			}
			return tx.AppendLogs(ctx, ref.ID, []LogLine{{Time: now, Level: "error", Message: msg}})
		})
		if errors.Is(err, errRaced) {
			continue // the agent reported or completed it meanwhile
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}
