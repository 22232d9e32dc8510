package jobs

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// VerifyJob is the verification of recovery point rp of the instance at level (agentv1.VerifyLevels;
// docs/design/monitoring.md, "Verification"), queued for trigger by by.
func VerifyJob(in Instance, rp, level, trigger, by string) NewJob {
	return NewJob{Kind: KindVerify, Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: rp, Trigger: trigger, CreatedBy: by,
		Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: rp, Storage: in.Storage, Level: level}}}
}

// Verification is a scheduled verification of an instance: its job (VerifyJob) and whether it
// reads the data (it then counts as a structure verification too).
type Verification struct {
	Instance string
	Job      NewJob
	Data     bool
}

// QueueVerifications queues the scheduled verifications' jobs, each in the transaction that
// records it as its instance's last verification (Tx.RecordVerification), many to a transaction
// (Store.InTxBatches). It returns the IDs of the jobs it queued, in order, up to the first it could
// not queue.
func (l *Lifecycle) QueueVerifications(ctx context.Context, vault string, vs []Verification) ([]int64, error) {
	ids := make([]int64, len(vs))
	now := l.now().UTC()
	done, err := l.st.InTxBatches(ctx, len(vs), func(tx Tx, from, to int) error {
		for i := from; i < to; i++ {
			v := vs[i]
			id, err := insert(ctx, tx, vault, v.Job, now)
			if err != nil {
				return fmt.Errorf("instance %q: %w", v.Instance, err)
			}
			ids[i] = id
			if err := tx.RecordVerification(ctx, vault, v.Instance, now, v.Data); err != nil {
				return err
			}
		}
		return nil
	})
	return ids[:done], err
}
