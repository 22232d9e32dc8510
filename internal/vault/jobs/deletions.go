package jobs

import "context"

// QueueDeletions queues a job for each deletion (a retention-delete, or a
// retention-expire-snapshots for one of snapshots only) whose recovery point has none of that kind
// queued or running.
func (l *Lifecycle) QueueDeletions(ctx context.Context, vault string, in Instance, trigger, by string, dels ...Deletion) error {
	var queue []NewJob
	for _, d := range dels {
		open, err := l.st.HasOpenJob(ctx, vault, in.Name, d.Kind(), d.RecoveryPoint)
		if err != nil {
			return err
		}
		if !open {
			queue = append(queue, deletionJob(in, d, trigger, by))
		}
	}
	if len(queue) == 0 {
		return nil
	}
	now := l.now().UTC()
	return l.st.InTx(ctx, func(tx Tx) error {
		for _, nj := range queue {
			if _, err := insert(ctx, tx, vault, nj, now); err != nil {
				return err
			}
		}
		return nil
	})
}
