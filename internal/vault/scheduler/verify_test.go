package scheduler

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// verifyFixture is the fixture's vault with instance "shop" stopped and instance "db" on policy
// "checked": backups daily at 02:00, kept 10 days, structure verified every 2 days and data every
// 7, created at t0 = Monday 2026-11-23 00:30 UTC.
func verifyFixture(t *testing.T) (*store.Store, *clock, *Scheduler) {
	t.Helper()
	st, clk, s := fixture(t)
	ctx := t.Context()
	pol := policy.Policy{Name: "checked", Schedule: policy.Schedule{DailyAt: "02:00"}, Retention: policy.Retention{Default: policy.Duration(10 * day)},
		Verify: &policy.VerifySchedule{Structure: policy.Duration(2 * day), Data: policy.Duration(7 * day)}}
	if err := st.CreatePolicy(ctx, "prod", pol); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "db", Cluster: "east", Policy: "checked",
		Storage: vaultv1.StorageLocation{URL: "file:///db", PassphraseSecret: "pass"}})); err != nil {
		t.Fatal(err)
	}
	return st, clk, s
}

// verifyingAgent claims and completes every queued job: backups succeed (in phase phase), verify
// jobs pass. It returns the backups' recovery points and the verify jobs, in the order it ran them.
func verifyingAgent(t *testing.T, st *store.Store, clk *clock, phase string) (backups []string, verifies []jobs.Job) {
	t.Helper()
	lc := jobs.New(st, clk.now)
	for {
		j, ok, err := lc.Claim(t.Context(), "prod", "east", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return backups, verifies
		}
		c := agentv1.Completion{State: agentv1.JobSucceeded}
		switch j.Kind {
		case agentv1.KindBackup:
			c.Result = &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: phase, Items: 3, Time: clk.t,
				OnDemand: j.Spec.Backup.OnDemand, ExpiresAt: j.Spec.Backup.ExpiresAt}}
			backups = append(backups, j.Spec.Backup.RecoveryPoint)
		case agentv1.KindVerify:
			c.Result = &agentv1.JobResult{Verify: &agentv1.VerifyResult{Level: j.Spec.Verify.Level}}
			verifies = append(verifies, j)
		}
		if err := lc.Complete(t.Context(), "prod", "east", j.ID, c); err != nil {
			t.Fatal(err)
		}
	}
}

// openVerifications lists the verify jobs queued or running, decoded.
func openVerifications(t *testing.T, st *store.Store) []jobs.Job {
	t.Helper()
	list, err := st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: agentv1.KindVerify, State: vaultv1.JobQueued}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	return decoded(t, list).Items
}

// at is a time of 2026 in UTC.
func at(month time.Month, d, h, m int) time.Time {
	return time.Date(2026, month, d, h, m, 0, 0, time.UTC)
}

// checkVerification checks a scheduled verify job: its recovery point, level and trigger.
func checkVerification(t *testing.T, j jobs.Job, rp, level string) {
	t.Helper()
	if j.RecoveryPoint != rp || j.Spec.Verify == nil || j.Spec.Verify.RecoveryPoint != rp || j.Spec.Verify.Level != level ||
		j.Instance != "db" || j.Cluster != "east" || j.Trigger != jobs.TriggerScheduled || j.CreatedBy != "scheduler" ||
		j.Spec.Verify.Storage.URL != "file:///db" {
		t.Errorf("verify job %+v (spec %+v), want %s of %s, scheduled by the scheduler", j, j.Spec.Verify, level, rp)
	}
}

// TestScheduledVerification runs the "checked" policy on a moved clock: the first structure
// verification comes a structure interval after the instance was created, of its newest good
// point; none is queued while one is open; the data one comes at its interval and resets the
// structure's; a point that is not good, or that retention deletes, is passed over.
func TestScheduledVerification(t *testing.T) {
	st, clk, s := verifyFixture(t)
	ctx := t.Context()
	for _, now := range []time.Time{at(11, 23, 2, 1), at(11, 24, 2, 1), at(11, 25, 0, 29)} {
		clk.t = now
		tick(t, s)
		if _, v := verifyingAgent(t, st, clk, archive.PhaseCompleted); len(v) != 0 {
			t.Fatalf("%s: verifications %+v before the first is due (2 days after creation)", now, v)
		}
	}

	// Two days after creation: the structure of the newest good point.
	clk.t = at(11, 25, 0, 31)
	tick(t, s)
	open := openVerifications(t, st)
	if len(open) != 1 {
		t.Fatalf("at %s: verifications %+v, want one", clk.t, open)
	}
	checkVerification(t, open[0], "db-20261124020000", agentv1.VerifyStructure)
	in, _ := st.GetInstance(ctx, "prod", "db")
	if in.LastVerifyStructureAt == nil || !in.LastVerifyStructureAt.Equal(clk.t) || in.LastVerifyDataAt != nil {
		t.Errorf("instance records structure %v, data %v; want structure %s", in.LastVerifyStructureAt, in.LastVerifyDataAt, clk.t)
	}

	// While it is queued, no other is, even when the data comes due; the scheduled backup runs.
	clk.t = at(11, 30, 0, 31)
	tick(t, s)
	tick(t, s)
	if open := openVerifications(t, st); len(open) != 1 {
		t.Fatalf("verifications while one is open: %+v", open)
	}
	backups, ran := verifyingAgent(t, st, clk, archive.PhaseCompleted)
	if len(backups) != 1 || backups[0] != "db-20261129020000" || len(ran) != 1 {
		t.Fatalf("backups %v, verifications run %+v", backups, ran)
	}

	// Seven days after creation: the data, of the newest good point.
	tick(t, s)
	open = openVerifications(t, st)
	if len(open) != 1 {
		t.Fatalf("at %s: verifications %+v, want the data one", clk.t, open)
	}
	checkVerification(t, open[0], "db-20261129020000", agentv1.VerifyData)
	dataAt := clk.t
	verifyingAgent(t, st, clk, archive.PhaseCompleted)

	// The data verification counts as a structure one: the next structure is due 2 days after
	// it, not after the last structure one. The backup made meanwhile (of the runs of 11-30 and
	// 12-01, collapsed) is partially failed.
	clk.t = dataAt.Add(2*day - time.Minute)
	tick(t, s)
	if b, v := verifyingAgent(t, st, clk, archive.PhasePartiallyFailed); len(b) != 1 || b[0] != "db-20261201020000" || len(v) != 0 {
		t.Fatalf("at %s: backups %v, verifications %+v; the structure is due only at %s", clk.t, b, v, dataAt.Add(2*day))
	}

	// Due, the structure of the newest good point: the partially failed one is passed over.
	clk.t = dataAt.Add(2*day + time.Minute)
	tick(t, s)
	open = openVerifications(t, st)
	if len(open) != 1 {
		t.Fatalf("at %s: verifications %+v, want a structure one", clk.t, open)
	}
	checkVerification(t, open[0], "db-20261129020000", agentv1.VerifyStructure)
	verifyingAgent(t, st, clk, archive.PhaseCompleted)
	in, _ = st.GetInstance(ctx, "prod", "db")
	if !in.LastVerifyStructureAt.Equal(clk.t) || !in.LastVerifyDataAt.Equal(dataAt) {
		t.Errorf("instance records structure %v, data %v; want %s, %s", in.LastVerifyStructureAt, in.LastVerifyDataAt, clk.t, dataAt)
	}

	// A stopped instance is not verified, however late.
	if _, err := st.SetInstanceState(ctx, "prod", "db", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
		t.Fatal(err)
	}
	clk.t = at(12, 8, 0, 0) // the data was due at 12-07 00:31
	tick(t, s)
	if open := openVerifications(t, st); len(open) != 0 {
		t.Fatalf("stopped instance: verifications %+v", open)
	}
	if _, err := st.SetInstanceState(ctx, "prod", "db", vaultv1.InstanceProtected, vaultv1.InstanceStopped); err != nil {
		t.Fatal(err)
	}
	// Resumed, its missed verifications collapse into one, of the data.
	tick(t, s)
	if open := openVerifications(t, st); len(open) != 1 {
		t.Fatalf("resumed: verifications %+v, want one of the data", open)
	} else {
		checkVerification(t, open[0], "db-20261129020000", agentv1.VerifyData)
	}
}

// TestScheduledVerificationNeedsAGoodPoint: an instance whose points are all partially failed
// gets no verification; the first tick after a good one exists queues it. A point retention
// deletes in the tick is passed over.
func TestScheduledVerificationNeedsAGoodPoint(t *testing.T) {
	st, clk, s := verifyFixture(t)
	ctx := t.Context()
	for d := 23; d <= 26; d++ {
		clk.t = at(11, d, 2, 1)
		tick(t, s)
		verifyingAgent(t, st, clk, archive.PhasePartiallyFailed)
	}
	if open := openVerifications(t, st); len(open) != 0 {
		t.Fatalf("verifications %+v without a good point", open)
	}
	in, _ := st.GetInstance(ctx, "prod", "db")
	if in.LastVerifyStructureAt != nil {
		t.Errorf("a verification recorded without one queued: %v", in.LastVerifyStructureAt)
	}

	// A good scheduled point, then a good on-demand one that expires at once.
	clk.t = at(11, 27, 2, 1)
	tick(t, s)
	verifyingAgent(t, st, clk, archive.PhaseCompleted)
	ji, err := jobsInstance(mustInstance(t, st, "db"))
	if err != nil {
		t.Fatal(err)
	}
	clk.t = at(11, 27, 3, 0)
	expires := clk.t.Add(time.Minute)
	lc := jobs.New(st, clk.now)
	if _, err := lc.Queue(ctx, "prod", jobs.BackupJob(ji, clk.t, jobs.BackupTrigger{Trigger: jobs.TriggerOnDemand, By: "test", OnDemand: true,
		ExpiresAt: &expires})); err != nil {
		t.Fatal(err)
	}
	if b, _ := verifyingAgent(t, st, clk, archive.PhaseCompleted); len(b) != 1 || b[0] != "db-20261127030000" {
		t.Fatalf("on-demand backup %v", b)
	}
	clk.t = at(11, 27, 3, 5)
	tick(t, s)
	open := openVerifications(t, st)
	if len(open) != 1 {
		t.Fatalf("verifications %+v, want one", open)
	}
	checkVerification(t, open[0], "db-20261127020000", agentv1.VerifyStructure)
}

func mustInstance(t *testing.T, st *store.Store, name string) store.Instance {
	t.Helper()
	in, err := st.GetInstance(t.Context(), "prod", name)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestPoliciesWithoutVerifyQueueNone: the four-hourly policy has no verify section: a week of
// backups queues no verification.
func TestPoliciesWithoutVerifyQueueNone(t *testing.T) {
	st, clk, s := fixture(t)
	for h := 4; h <= 7*24; h += 4 {
		clk.t = at(11, 23, 0, 1).Add(time.Duration(h) * time.Hour)
		tick(t, s)
		if _, v := verifyingAgent(t, st, clk, archive.PhaseCompleted); len(v) != 0 {
			t.Fatalf("%s: verifications %+v", clk.t, v)
		}
	}
}
