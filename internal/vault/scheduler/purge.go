package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// purge queues the deletion of the vault's soft-deleted recovery points whose time has come: past
// their purge time and no longer locked in storage.
func (s *Scheduler) purge(ctx context.Context, vault string, now time.Time) error {
	due, err := s.st.DuePurges(ctx, vault, now)
	if err != nil || len(due) == 0 {
		return err
	}
	byInstance := map[string][]jobs.Deletion{}
	var order []string
	for _, rp := range due {
		if _, seen := byInstance[rp.Instance]; !seen {
			order = append(order, rp.Instance)
		}
		d := rp.SoftDeleted
		byInstance[rp.Instance] = append(byInstance[rp.Instance], jobs.Deletion{RecoveryPoint: rp.Name, GC: true,
			Reason: fmt.Sprintf("deleted by %s at %s, purged after %s", d.By, d.At.Format(time.RFC3339), d.PurgeAfter.Format(time.RFC3339))})
	}
	var errs []error
	for _, name := range order {
		in, err := s.st.GetInstance(ctx, vault, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("purge recovery points of instance %q: %w", name, err))
			continue
		}
		ji, err := jobsInstance(in)
		if err == nil {
			err = s.jobs.QueueDeletions(ctx, vault, ji, jobs.TriggerRetention, "scheduler", byInstance[name]...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("purge recovery points of instance %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
