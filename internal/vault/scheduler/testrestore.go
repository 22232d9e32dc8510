package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// testRestores collects, over one pass of a vault's instances, the test restores due
// (docs/design/monitoring.md, "Automatic test restores"), and queues them.
type testRestores struct {
	s     *Scheduler
	vault string
	now   time.Time
	open  map[string]bool // instances with a test restore queued or running; read once when needed
	due   []jobs.NewJob
}

// consider adds the test restore of sc's instance its policy makes due at now, if any: of its
// newest good recovery point among rps (live, newest first) that retention is not deleting, into
// the policy's cluster or the instance's own. None while one is open, or without a good point.
func (t *testRestores) consider(ctx context.Context, sc scheduled, rps []store.RecoveryPoint, deleting map[string]bool) error {
	tr := sc.pol.TestRestore
	last := sc.in.CreatedAt
	if sc.in.LastTestRestoreAt != nil {
		last = *sc.in.LastTestRestoreAt
	}
	if tr == nil || !tr.Due(t.now, last) {
		return nil
	}
	if t.open == nil {
		var err error
		if t.open, err = t.s.st.OpenJobInstances(ctx, t.vault, jobs.KindTestRestore); err != nil {
			return err
		}
	}
	if t.open[sc.in.Name] {
		return nil
	}
	for _, rp := range rps {
		if rp.Phase != archive.PhaseCompleted || deleting[rp.Name] {
			continue
		}
		target := sc.in.Cluster
		if tr.Cluster != "" {
			target = tr.Cluster
			if _, err := t.s.st.GetCluster(ctx, t.vault, target); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("policy %q test-restores into cluster %q, which is not registered with this vault: register it or change the policy",
					sc.pol.Name, target)
			} else if err != nil {
				return err
			}
		}
		ji, err := jobsInstance(sc.in)
		if err != nil {
			return err
		}
		nj, err := jobs.TestRestoreJob(ji, rp.Name, rp.Namespaces, rp.Cluster, target, *tr, t.now, jobs.TriggerScheduled, "scheduler")
		if err != nil {
			return err
		}
		t.due = append(t.due, nj)
		return nil
	}
	return nil
}

// queue queues the test restores due, each recorded as its instance's last.
func (t *testRestores) queue(ctx context.Context) error {
	var errs []error
	for _, nj := range t.due {
		j, err := t.s.jobs.QueueTestRestore(ctx, t.vault, nj, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %q: test restore: %w", nj.Instance, err))
			continue
		}
		t.s.log.InfoContext(ctx, "scheduled test restore queued", "vault", t.vault, "instance", nj.Instance, "job", j.ID,
			"recoveryPoint", nj.RecoveryPoint, "cluster", nj.Cluster)
	}
	return errors.Join(errs...)
}
