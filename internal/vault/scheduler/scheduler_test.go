package scheduler

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

const day = 24 * time.Hour

// fixture: vault prod, cluster east, policy every 4 hours (retention 1d, first of each day kept 7d,
// keep last 2), instance shop created at t0 = Monday 2026-11-23 00:30 UTC.
func fixture(t *testing.T) (*store.Store, *clock, *Scheduler) {
	t.Helper()
	ctx := t.Context()
	clk := &clock{t: time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC)}
	st, err := store.OpenSQLite(ctx, t.TempDir(), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RegisterCluster(ctx, "prod", "east"); err != nil {
		t.Fatal(err)
	}
	pol := policy.Policy{Name: "four-hourly", Schedule: policy.Schedule{EveryHours: 4},
		Retention: policy.Retention{Default: policy.Duration(day), Daily: policy.Duration(7 * day), KeepLast: 2}}
	if err := st.CreatePolicy(ctx, "prod", pol); err != nil {
		t.Fatal(err)
	}
	in, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "shop", Cluster: "east", Policy: "four-hourly",
		Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "pass"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetLastScheduled(ctx, "prod", in.Name, clk.t); err != nil {
		t.Fatal(err)
	}
	return st, clk, New(st, clk.now, nil)
}

// instanceSpec is the instance as the API stores it.
func instanceSpec(t *testing.T, spec vaultv1.InstanceSpec) store.InstanceSpec {
	t.Helper()
	cfg, err := json.Marshal(spec.Backup)
	if err != nil {
		t.Fatal(err)
	}
	storage, err := json.Marshal(spec.Storage)
	if err != nil {
		t.Fatal(err)
	}
	return store.InstanceSpec{Name: spec.Name, Cluster: spec.Cluster, Policy: spec.Policy, Backup: cfg, Storage: storage}
}

// runAgent claims and completes every queued job like a healthy agent: backups succeed with a
// recovery point completed at the clock's time, deletions succeed.
func runAgent(t *testing.T, st *store.Store, clk *clock) (backups, deletions []string) {
	t.Helper()
	lc := jobs.New(st, clk.now)
	for {
		j, ok, err := lc.Claim(t.Context(), "prod", "east", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return backups, deletions
		}
		c := agentv1.Completion{State: agentv1.JobSucceeded}
		switch j.Kind {
		case agentv1.KindBackup:
			c.Result = &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 3, Time: clk.t}}
			if s := j.Spec.Backup.LockForSeconds; s > 0 {
				until := clk.t.Add(time.Duration(s) * time.Second)
				c.Result.RecoveryPoint.LockedUntil = &until
			}
			backups = append(backups, j.Spec.Backup.RecoveryPoint)
		case agentv1.KindRetentionDelete:
			deletions = append(deletions, j.Spec.Delete.RecoveryPoint)
		}
		if err := lc.Complete(t.Context(), "prod", "east", j.ID, c); err != nil {
			t.Fatal(err)
		}
	}
}

// decoded is a list of jobs with their specs and results read.
func decoded(t *testing.T, list store.List[jobs.Record]) store.List[jobs.Job] {
	t.Helper()
	out := store.List[jobs.Job]{Next: list.Next}
	for _, r := range list.Items {
		j, err := r.Decode()
		if err != nil {
			t.Fatal(err)
		}
		out.Items = append(out.Items, j)
	}
	return out
}

func tick(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestBackupsComeOnTimeAndMissedRunsCollapse(t *testing.T) {
	st, clk, s := fixture(t)
	tick(t, s)
	if b, _ := runAgent(t, st, clk); len(b) != 0 {
		t.Fatalf("backup before the first run is due: %v", b)
	}
	clk.t = time.Date(2026, 11, 23, 4, 0, 5, 0, time.UTC)
	tick(t, s)
	tick(t, s) // a second tick in the same slot queues nothing more
	b, _ := runAgent(t, st, clk)
	if len(b) != 1 || b[0] != "shop-20261123040000" {
		t.Fatalf("at 04:00: %v", b)
	}
	in, _ := st.GetInstance(t.Context(), "prod", "shop")
	if in.LastScheduled == nil || !in.LastScheduled.Equal(time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)) {
		t.Fatalf("last scheduled %v", in.LastScheduled)
	}

	// The vault is down for 13 hours: the runs at 08, 12 and 16 collapse into one, for 16:00.
	clk.t = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	tick(t, s)
	if b, _ = runAgent(t, st, clk); len(b) != 1 || b[0] != "shop-20261123160000" {
		t.Fatalf("after downtime: %v", b)
	}

	// A backup still queued at the next slot absorbs it.
	clk.t = time.Date(2026, 11, 23, 20, 0, 1, 0, time.UTC)
	tick(t, s)
	clk.t = time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC)
	tick(t, s)
	if b, _ = runAgent(t, st, clk); len(b) != 1 {
		t.Fatalf("queued backup absorbs the next slot: %v", b)
	}

	// A stopped instance gets no backups.
	if _, err := st.SetInstanceState(t.Context(), "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(8 * time.Hour)
	tick(t, s)
	if b, _ = runAgent(t, st, clk); len(b) != 0 {
		t.Fatalf("stopped instance backed up: %v", b)
	}
}

func TestRetentionQueuesDeletions(t *testing.T) {
	st, clk, s := fixture(t)
	// Three days of four-hourly backups.
	var made, deleted []string
	for h := 4; h <= 72; h += 4 {
		clk.t = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour + time.Minute)
		tick(t, s)
		b, d := runAgent(t, st, clk)
		made, deleted = append(made, b...), append(deleted, d...)
	}
	if len(made) != 18 {
		t.Fatalf("%d backups", len(made))
	}
	// At the end (Thursday 00:01): default 1d keeps the points of the last day; the first of each
	// day (Mon 04:00, Tue 00:00, Wed 00:00, Thu 00:00) stays 7 days; everything else older than 1d went.
	clk.t = time.Date(2026, 11, 26, 0, 1, 0, 0, time.UTC)
	tick(t, s)
	_, d := runAgent(t, st, clk)
	deleted = append(deleted, d...)
	list, err := st.ListRecoveryPoints(t.Context(), "prod", store.RecoveryPointFilter{Instance: "shop"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, rp := range list.Items {
		kept[rp.Name] = true
		if rp.ExpiresAt == nil {
			t.Errorf("%s has no expiry recorded", rp.Name)
		}
	}
	for _, want := range []string{"shop-20261123040000", "shop-20261124000000", "shop-20261125000000", "shop-20261126000000",
		"shop-20261125040000", "shop-20261125200000"} {
		if !kept[want] {
			t.Errorf("%s deleted; kept %v", want, kept)
		}
	}
	if len(deleted)+len(list.Items) != 18 || len(deleted) == 0 {
		t.Errorf("deleted %d, kept %d", len(deleted), len(list.Items))
	}
	for _, d := range deleted {
		if d == "shop-20261124040000" {
			return
		}
	}
	t.Errorf("Tuesday 04:00 (not first of its day, older than 1d) survived: deleted %v", deleted)
}

func TestExpiredLeaseIsRetried(t *testing.T) {
	st, clk, s := fixture(t)
	clk.t = time.Date(2026, 11, 23, 4, 0, 1, 0, time.UTC)
	tick(t, s)
	j, ok, err := jobs.New(st, clk.now).Claim(t.Context(), "prod", "east", time.Minute)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	clk.t = clk.t.Add(90 * time.Second) // the agent died
	tick(t, s)
	if failed, _ := st.GetJob(t.Context(), "prod", j.ID); failed.State != vaultv1.JobFailed {
		t.Fatalf("job %+v", failed)
	}
	b, _ := runAgent(t, st, clk)
	if len(b) != 1 || b[0] == j.Spec.Backup.RecoveryPoint {
		t.Fatalf("retry made %v", b)
	}
	list, _ := st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: agentv1.KindBackup, State: vaultv1.JobSucceeded}, store.Page{})
	retries := decoded(t, list)
	if len(retries.Items) != 1 || retries.Items[0].Attempt != 2 || retries.Items[0].Spec.Backup.DeleteIncomplete[0] != j.Spec.Backup.RecoveryPoint {
		t.Fatalf("retry %+v", retries.Items)
	}
}

// TestRetentionOverAYearAndAHalf runs a daily policy for 550 days through the store, the
// scheduler and a healthy agent, and checks that what is left is what the day, week, month and
// year rules and the keep-last guard say, counted here independently of internal/policy.
func TestRetentionOverAYearAndAHalf(t *testing.T) {
	ctx := t.Context()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, berlin)
	clk := &clock{t: start}
	st, err := store.OpenSQLite(ctx, t.TempDir(), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RegisterCluster(ctx, "prod", "east"); err != nil {
		t.Fatal(err)
	}
	pol := policy.Policy{Name: "nightly", Schedule: policy.Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"},
		Retention: policy.Retention{Default: policy.Duration(3 * day), Weekly: policy.Duration(28 * day),
			Monthly: policy.Duration(365 * day), Yearly: policy.Duration(5 * 365 * day), KeepLast: 5}}
	if err := st.CreatePolicy(ctx, "prod", pol); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: "shop", Cluster: "east", Policy: "nightly",
		Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "pass"}})); err != nil {
		t.Fatal(err)
	}
	s := New(st, clk.now, nil)
	var made []time.Time // local run times of every recovery point
	for d := 1; d <= 550; d++ {
		clk.t = time.Date(2025, 6, 1+d, 2, 31, 0, 0, berlin) // a minute after the run; DST changes included
		tick(t, s)
		b, _ := runAgent(t, st, clk)
		if len(b) != 1 {
			t.Fatalf("day %d: backups %v", d, b)
		}
		made = append(made, time.Date(2025, 6, 1+d, 2, 30, 0, 0, berlin))
	}
	clk.t = clk.t.Add(time.Hour)
	tick(t, s)
	runAgent(t, st, clk)

	now := clk.t
	want := map[string]bool{}
	firstOf := map[string]bool{}
	for i, m := range made {
		y, w := m.ISOWeek()
		keep := now.Sub(m) < 3*day || i >= len(made)-5
		for _, rule := range []struct {
			period string
			keep   time.Duration
		}{{fmt.Sprintf("week %d-%d", y, w), 28 * day}, {m.Format("month 2006-01"), 365 * day}, {m.Format("year 2006"), 5 * 365 * day}} {
			if !firstOf[rule.period] {
				firstOf[rule.period] = true
				keep = keep || now.Sub(m) < rule.keep
			}
		}
		if keep {
			want["shop-"+m.UTC().Format("20060102150405")] = true
		}
	}
	list, err := st.ListRecoveryPoints(ctx, "prod", store.RecoveryPointFilter{Instance: "shop"}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, rp := range list.Items {
		got[rp.Name] = true
	}
	for name := range want {
		if !got[name] {
			t.Errorf("%s deleted, should be kept", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("%s kept, should be deleted", name)
		}
	}
	// 5 (last days and keep-last), 4 weeks, 12 months and 2 years, overlapping.
	if len(got) < 12 || len(got) > 5+4+13+2 {
		t.Errorf("%d recovery points kept: %v", len(got), got)
	}
}

// TestTickReportsItsLag: a tick says how late after its due time it queued the latest due
// backup, and 0 when none was due.
func TestTickReportsItsLag(t *testing.T) {
	_, clk, s := fixture(t)
	if lag, err := s.tick(t.Context(), true); err != nil || lag != 0 {
		t.Fatalf("nothing due: lag %s, %v", lag, err)
	}
	clk.t = time.Date(2026, 11, 23, 4, 0, 7, 0, time.UTC)
	if lag, err := s.tick(t.Context(), true); err != nil || lag != 7*time.Second {
		t.Fatalf("the 04:00 run queued at 04:00:07: lag %s, %v", lag, err)
	}
}

func TestTicksWakeAtTheMinute(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 59, 58, 500_000_000, time.UTC)
	s := New(nil, func() time.Time { return at }, nil)
	for _, tc := range []struct {
		interval, took, want time.Duration
	}{
		{15 * time.Second, 0, 1500*time.Millisecond + minuteMargin}, // the top of the hour comes first
		{time.Second, 200 * time.Millisecond, 800 * time.Millisecond},
		{time.Second, 3 * time.Second, 0}, // a tick longer than the interval: the next at once
	} {
		if got := s.nextWait(tc.interval, tc.took); got != tc.want {
			t.Errorf("interval %s, tick took %s: wait %s, want %s", tc.interval, tc.took, got, tc.want)
		}
	}
}

// TestRunLeavesRetentionToTheTickAfterRuns: Run's tick that queues backups queues no deletion;
// the next tick, with nothing due, does. Tick does both at once.
func TestRunLeavesRetentionToTheTickAfterRuns(t *testing.T) {
	st, clk, s := fixture(t)
	// Two days of four-hourly backups, their deletions left queued: the ticks of Run.
	for h := 4; h <= 48; h += 4 {
		clk.t = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour + time.Minute)
		if _, err := s.tick(t.Context(), true); err != nil {
			t.Fatal(err)
		}
		if b, d := runAgent(t, st, clk); len(b) != 1 || len(d) != 0 {
			t.Fatalf("at %s, a tick that queued a backup: backups %v, deletions %v", clk.t, b, d)
		}
	}
	clk.t = clk.t.Add(15 * time.Second)
	if _, err := s.tick(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if b, d := runAgent(t, st, clk); len(b) != 0 || len(d) == 0 {
		t.Fatalf("the tick after: backups %v, deletions %v; want deletions only", b, d)
	}
}
