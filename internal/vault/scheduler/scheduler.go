package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Scheduler runs the vault's schedules and retention over a store; the jobs it queues and fails
// go through the job life cycle.
type Scheduler struct {
	st   *store.Store
	jobs *jobs.Lifecycle
	now  func() time.Time
	log  *slog.Logger
	// OnTick, if set, is told of each tick Run makes: how long it took, how late after its due
	// time the latest due backup was queued (0: none was due), and its error.
	OnTick func(took, lag time.Duration, err error)
	// AuditRetention is how long audit entries are kept (0: DefaultAuditRetention).
	AuditRetention time.Duration
	// pruned is when the audit log was last pruned (once an hour is enough).
	pruned time.Time
}

// DefaultAuditRetention keeps audit entries a little over a year.
const DefaultAuditRetention = 400 * 24 * time.Hour

// New returns a scheduler over st; now is its clock.
func New(st *store.Store, now func() time.Time, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{st: st, jobs: jobs.New(st, now), now: now, log: log}
}

// Run ticks at once (so schedules missed while the vault was down run on start) and then every
// interval, and at the start of every minute, until ctx ends. A failed tick is logged and retried
// at the next. A tick that queued backups leaves retention, verifications, test restores and
// purges to the next: at the top of the hour the database then queues the hour's backups and
// answers the agents claiming them, without a pass over every recovery point beside.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	for {
		start := time.Now()
		lag, err := s.tick(ctx, true)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "scheduler tick failed", "error", err.Error())
		}
		if s.OnTick != nil && ctx.Err() == nil {
			s.OnTick(time.Since(start), lag, err)
		}
		t := time.NewTimer(s.nextWait(interval, time.Since(start)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nextWait is how long Run sleeps after a tick that took took: the rest of the interval, or less,
// to tick just after the next minute begins on the scheduler's clock. Schedules fall due on whole
// minutes (everyHours on the hour, dailyAt and cron to the minute), so the backups due at the top
// of the hour are queued then, not up to an interval later.
func (s *Scheduler) nextWait(interval, took time.Duration) time.Duration {
	now := s.now()
	toMinute := now.Truncate(time.Minute).Add(time.Minute).Sub(now) + minuteMargin
	return min(max(interval-took, 0), toMinute)
}

// minuteMargin is how long after a minute begins the tick that nextWait times runs: a clock read
// a hair early would still see the last minute.
const minuteMargin = 5 * time.Millisecond

// Tick does one whole round: expire leases, then for every vault and protected instance queue the
// due backup, then the deletions retention decides, the verifications and test restores due, and
// the purges.
func (s *Scheduler) Tick(ctx context.Context) error {
	_, err := s.tick(ctx, false)
	return err
}

// tick is Tick, also returning how late the latest due backup was queued. With lightAtRuns, a
// round that queued backups stops there (Run).
func (s *Scheduler) tick(ctx context.Context, lightAtRuns bool) (time.Duration, error) {
	now := s.now().UTC()
	expired, err := s.jobs.ExpireLeases(ctx)
	if err != nil {
		return 0, err
	}
	for _, e := range expired {
		s.log.WarnContext(ctx, "agent stopped reporting: job failed", "vault", e.Vault, "job", e.Job, "retry", e.Retry)
	}
	vaults, err := s.st.Vaults(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	var lag time.Duration
	protected := make([]map[string]scheduled, len(vaults))
	queued := false
	for i, v := range vaults {
		vlag, due, instances, err := s.scheduleVault(ctx, v, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("vault %q: %w", v, err))
		}
		protected[i], lag, queued = instances, max(lag, vlag), queued || due
	}
	if lightAtRuns && queued {
		return lag, errors.Join(errs...)
	}
	if err := s.pruneAudit(ctx, now); err != nil {
		errs = append(errs, err)
	}
	for i, v := range vaults {
		if err := s.maintainVault(ctx, v, protected[i], now); err != nil {
			errs = append(errs, fmt.Errorf("vault %q: %w", v, err))
		}
		if err := s.purge(ctx, v, now); err != nil {
			errs = append(errs, fmt.Errorf("vault %q: %w", v, err))
		}
	}
	return lag, errors.Join(errs...)
}

// pruneAudit deletes the audit entries older than the retention, at most once an hour.
func (s *Scheduler) pruneAudit(ctx context.Context, now time.Time) error {
	if !s.pruned.IsZero() && now.Sub(s.pruned) < time.Hour {
		return nil
	}
	retention := cmp.Or(s.AuditRetention, DefaultAuditRetention)
	n, err := s.st.PruneAudit(ctx, now.Add(-retention))
	if err != nil {
		return err
	}
	s.pruned = now
	if n > 0 {
		s.log.InfoContext(ctx, "audit entries past their retention deleted", "entries", n, "retention", retention.String())
	}
	return nil
}

// scheduleVault queues the backups due in the vault, and returns how late the latest was queued,
// whether any was due, and the vault's protected instances with their policies, for
// maintainVault. The vault's open backups are read once, and only when a run is due.
func (s *Scheduler) scheduleVault(ctx context.Context, vault string, now time.Time) (lag time.Duration, due bool,
	protected map[string]scheduled, err error) {
	instances, err := s.st.ListInstances(ctx, vault, store.InstanceFilter{State: store.InstanceProtected})
	if err != nil {
		return 0, false, nil, err
	}
	type compiled struct {
		pol     policy.Policy
		plan    policy.Plan
		planErr error
	}
	policies := map[string]compiled{}
	protected = make(map[string]scheduled, len(instances))
	var runs []scheduled
	var errs []error
	for _, in := range instances {
		c, ok := policies[in.Policy]
		if !ok {
			if c.pol, err = s.st.GetPolicy(ctx, vault, in.Policy); err != nil {
				errs = append(errs, fmt.Errorf("instance %q: %w", in.Name, err))
				continue
			}
			c.plan, c.planErr = c.pol.Schedule.Plan()
			policies[in.Policy] = c
		}
		sc := scheduled{in: in, pol: c.pol}
		protected[in.Name] = sc
		if c.planErr != nil {
			errs = append(errs, fmt.Errorf("instance %q: %w", in.Name, c.planErr))
		} else if sc.at, ok, err = dueRun(in, c.plan, now); err != nil {
			errs = append(errs, fmt.Errorf("instance %q: %w", in.Name, err))
		} else if ok {
			runs = append(runs, sc)
		}
	}
	if len(runs) > 0 {
		if err := s.schedule(ctx, vault, runs); err != nil {
			return 0, false, protected, errors.Join(append(errs, err)...)
		}
		queued := s.now()
		for _, sc := range runs {
			lag = max(lag, queued.Sub(sc.at))
		}
	}
	return lag, len(runs) > 0, protected, errors.Join(errs...)
}

// maintainVault applies retention and queues the verifications and test restores due, for every
// protected instance of the vault, in a constant number of queries plus the writes: its open
// verifications are read once (and only when a policy schedules any), and its live recovery points
// in one pass, one instance at a time (EachInstanceRecoveryPoints).
func (s *Scheduler) maintainVault(ctx context.Context, vault string, protected map[string]scheduled, now time.Time) error {
	var errs []error
	zones := map[string]*time.Location{}
	var verifying map[string]bool // instances with a verification queued or running; read once when needed
	var verifications []jobs.Verification
	tests := &testRestores{s: s, vault: vault, now: now}
	err := s.st.EachInstanceRecoveryPoints(ctx, vault, func(instance string, rps []store.RecoveryPoint) error {
		sc, ok := protected[instance]
		if !ok {
			return nil // stopped: retention and verification are paused
		}
		deleting, err := s.retain(ctx, vault, sc.in, sc.pol, rps, now, zones)
		if err != nil {
			return fmt.Errorf("instance %q: retention: %w", instance, err)
		}
		if err := tests.consider(ctx, sc, rps, deleting); err != nil {
			errs = append(errs, fmt.Errorf("instance %q: test restore: %w", instance, err))
		}
		if sc.pol.Verify == nil {
			return nil
		}
		if verifying == nil {
			if verifying, err = s.st.OpenJobInstances(ctx, vault, jobs.KindVerify); err != nil {
				return err
			}
		}
		v, ok, err := dueVerification(sc.in, *sc.pol.Verify, rps, deleting, verifying[instance], now)
		if err != nil {
			return fmt.Errorf("instance %q: verification: %w", instance, err)
		}
		if ok {
			verifications = append(verifications, v)
		}
		return nil
	})
	errs = append(errs, err)
	if len(verifications) > 0 {
		errs = append(errs, s.verify(ctx, vault, verifications))
	}
	errs = append(errs, tests.queue(ctx))
	return errors.Join(errs...)
}

// dueVerification is the verification of the instance its policy's schedule v makes due at now,
// if any: of its newest good recovery point among rps (live, newest first) that retention is
// not deleting, at the level due (policy.VerifySchedule.Due, from the instance's last ones, or its
// creation). None while one of the instance is open (queued or running), or without a good point.
func dueVerification(in store.Instance, v policy.VerifySchedule, rps []store.RecoveryPoint, deleting map[string]bool, open bool,
	now time.Time) (jobs.Verification, bool, error) {
	lastStructure, lastData := in.CreatedAt, in.CreatedAt
	if in.LastVerifyStructureAt != nil {
		lastStructure = *in.LastVerifyStructureAt
	}
	if in.LastVerifyDataAt != nil {
		lastData = *in.LastVerifyDataAt
	}
	due, data := v.Due(now, lastStructure, lastData)
	if !due || open {
		return jobs.Verification{}, false, nil
	}
	for _, rp := range rps {
		if rp.Phase != archive.PhaseCompleted || deleting[rp.Name] {
			continue
		}
		ji, err := jobsInstance(in)
		if err != nil {
			return jobs.Verification{}, false, err
		}
		level := agentv1.VerifyStructure
		if data {
			level = agentv1.VerifyData
		}
		return jobs.Verification{Instance: in.Name, Data: data,
			Job: jobs.VerifyJob(ji, rp.Name, level, jobs.TriggerScheduled, "scheduler")}, true, nil
	}
	return jobs.Verification{}, false, nil
}

// verify queues the due verifications, each recorded as its instance's last.
func (s *Scheduler) verify(ctx context.Context, vault string, vs []jobs.Verification) error {
	ids, err := s.jobs.QueueVerifications(ctx, vault, vs)
	for i, id := range ids {
		v := vs[i]
		s.log.InfoContext(ctx, "scheduled verification queued", "vault", vault, "instance", v.Instance, "job", id,
			"recoveryPoint", v.Job.RecoveryPoint, "level", v.Job.Spec.Verify.Level)
	}
	return err
}

// scheduled is a protected instance with its policy and, when a run is due, that run's time.
type scheduled struct {
	in  store.Instance
	pol policy.Policy
	at  time.Time
}

// dueRun returns the newest run of the policy due since the instance's last scheduled one (or
// its creation), if any: runs missed while the vault was down collapse into that one.
func dueRun(in store.Instance, plan policy.Plan, now time.Time) (time.Time, bool, error) {
	from := in.CreatedAt
	if in.LastScheduled != nil {
		from = *in.LastScheduled
	}
	due, err := plan.Due(from, now, 1)
	if err != nil || len(due) == 0 {
		return time.Time{}, false, err
	}
	return due[len(due)-1], true, nil
}

// schedule queues one backup for each due run, except for instances whose backup is still queued
// or running: that one absorbs the runs that come due meanwhile. Either way the run is recorded.
func (s *Scheduler) schedule(ctx context.Context, vault string, due []scheduled) error {
	busy, err := s.st.OpenJobInstances(ctx, vault, jobs.KindBackup)
	if err != nil {
		return err
	}
	runs := make([]jobs.Run, 0, len(due))
	var errs []error
	for _, sc := range due {
		in, err := jobsInstance(sc.in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.LockFor = sc.pol.EffectiveLockFor(sc.in.LockFor)
		runs = append(runs, jobs.ScheduledRun(in, sc.pol.Copy, sc.at, busy[sc.in.Name]))
	}
	ids, err := s.jobs.RecordRuns(ctx, vault, runs)
	queued := 0
	for _, r := range runs {
		switch {
		case r.Backup == nil:
			s.log.InfoContext(ctx, "scheduled backup skipped: the previous one is still queued or running", "vault", vault, "instance", r.Instance, "due", r.At)
		case queued < len(ids):
			s.log.InfoContext(ctx, "scheduled backup queued", "vault", vault, "instance", r.Instance, "job", ids[queued], "due", r.At,
				"volumeData", r.Backup.Spec.Backup.Config.VolumeData)
			queued++
		}
	}
	return errors.Join(append(errs, err)...)
}

// retain evaluates the instance's live recovery points (newest first) per tier
// (policy.EvaluateTiers) and queues a deletion for each one due, of the whole point or of its
// snapshots only; it returns the names of the points it deletes whole. It records an expiry only
// where it changed. zones caches the policies' time zones for the tick.
func (s *Scheduler) retain(ctx context.Context, vault string, in store.Instance, pol policy.Policy, rps []store.RecoveryPoint,
	now time.Time, zones map[string]*time.Location) (map[string]bool, error) {
	loc := zones[pol.Schedule.TimeZone]
	if loc == nil {
		var err error
		if loc, err = pol.Schedule.Location(); err != nil {
			return nil, err
		}
		zones[pol.Schedule.TimeZone] = loc
	}
	points := make([]policy.TierPoint, len(rps))
	for i, rp := range rps {
		points[i] = policy.TierPoint{Point: policy.Point{ID: rp.Name, CompletedAt: rp.Time, Successful: rp.Phase == archive.PhaseCompleted,
			OnDemand: rp.OnDemand}, Snapshots: holdsSnapshots(rp), Copies: rp.VolumesCopied > 0}
		if rp.ExpiresAt != nil && rp.OnDemand {
			points[i].ExpiresAt = *rp.ExpiresAt
		}
	}
	var dels []jobs.Deletion
	deleting := map[string]bool{}
	for i, d := range pol.EvaluateTiers(points, now, loc) {
		switch d.Action {
		case policy.DeletePoint:
			if l := rps[i].LockedUntil; l != nil && l.After(now) {
				continue // immutable in storage until then: deleted at the first tick after
			}
			dels = append(dels, jobs.Deletion{RecoveryPoint: d.ID, Reason: d.Reason})
			deleting[d.ID] = true
			continue
		case policy.DeleteSnapshots:
			dels = append(dels, jobs.Deletion{RecoveryPoint: d.ID, Reason: d.Reason, SnapshotsOnly: true})
		}
		if !rps[i].OnDemand && !sameExpiry(rps[i].ExpiresAt, d.ExpiresAt) {
			if err := s.st.SetRecoveryPointExpiry(ctx, vault, d.ID, d.ExpiresAt); err != nil {
				return deleting, err
			}
		}
	}
	if len(dels) == 0 {
		return deleting, nil
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return deleting, err
	}
	return deleting, s.jobs.QueueDeletions(ctx, vault, ji, jobs.TriggerRetention, "scheduler", dels...)
}

// jobsInstance is what the instance's jobs are made from.
func jobsInstance(in store.Instance) (jobs.Instance, error) {
	ji, err := jobs.DecodeInstance(in.Name, in.Cluster, in.Backup, in.Storage)
	ji.ScheduledBackups = in.ScheduledBackups
	if in.LastCopyAt != nil {
		ji.LastCopyAt = *in.LastCopyAt
	}
	return ji, err
}

// holdsSnapshots tells whether the recovery point still holds volume snapshots: a claim held by
// one, or, for a point recorded before the tiers were, any snapshot bytes.
func holdsSnapshots(rp store.RecoveryPoint) bool {
	if len(rp.VolumeTiers) == 0 {
		return rp.SnapshotBytes > 0 || rp.Volumes > rp.VolumesCopied
	}
	for _, t := range rp.VolumeTiers {
		if t.Snapshot {
			return true
		}
	}
	return false
}

// sameExpiry tells whether the recorded expiry (nil: none) is at (zero: none).
func sameExpiry(recorded *time.Time, at time.Time) bool {
	if recorded == nil {
		return at.IsZero()
	}
	return recorded.Equal(at)
}
