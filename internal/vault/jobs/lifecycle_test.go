package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

var (
	shop = jobs.Instance{Name: "shop", Cluster: "east", Backup: agentv1.BackupConfig{IncludeNamespaces: []string{"shop"}},
		Storage: agentv1.StorageLocation{URL: "file:///b/shop", PassphraseSecret: "pass"}}
	web = jobs.Instance{Name: "web", Cluster: "east", Storage: agentv1.StorageLocation{URL: "file:///b/web", PassphraseSecret: "pass"}}
)

// fixture is a life cycle over an in-memory store on a settable clock at t0.
type fixture struct {
	*jobs.Lifecycle
	st  *memStore
	clk *clock
}

func newFixture() *fixture {
	clk := &clock{t: t0}
	st := newMemStore()
	return &fixture{Lifecycle: jobs.New(st, clk.now), st: st, clk: clk}
}

func (f *fixture) queue(t *testing.T, nj jobs.NewJob) jobs.Job {
	t.Helper()
	j, err := f.Queue(t.Context(), "prod", nj)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) backup(t *testing.T, in jobs.Instance, at time.Time) jobs.Job {
	t.Helper()
	return f.queue(t, jobs.BackupJob(in, at, jobs.BackupTrigger{Trigger: jobs.TriggerScheduled, By: "scheduler"}))
}

// claim claims the next job of cluster east and checks that it is want (0: none).
func (f *fixture) claim(t *testing.T, want int64) jobs.Job {
	t.Helper()
	j, ok, err := f.Claim(t.Context(), "prod", "east", time.Minute)
	if err != nil || ok != (want != 0) || j.ID != want {
		t.Fatalf("claim: job %d ok %v %v, want job %d", j.ID, ok, err, want)
	}
	return j
}

func (f *fixture) complete(t *testing.T, id int64, c agentv1.Completion) {
	t.Helper()
	if err := f.Complete(t.Context(), "prod", "east", id, c); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) get(t *testing.T, id int64) jobs.Job {
	t.Helper()
	j, err := f.Get(t.Context(), "prod", id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) logs(id int64) []string {
	var out []string
	for _, l := range f.st.read().logs[id] {
		out = append(out, l.Level+": "+l.Message)
	}
	return out
}

// madePoint runs a backup of the instance at the clock's time to success and returns its point.
func (f *fixture) madePoint(t *testing.T, in jobs.Instance) string {
	t.Helper()
	j := f.backup(t, in, f.clk.t)
	f.claim(t, j.ID)
	f.complete(t, j.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted}}})
	return j.RecoveryPoint
}

func TestMoves(t *testing.T) {
	all := []jobs.State{jobs.Queued, jobs.Running, jobs.Succeeded, jobs.PartiallyFailed, jobs.Failed, jobs.Cancelled}
	allowed := map[[2]jobs.State]bool{
		{jobs.Queued, jobs.Running}: true, {jobs.Queued, jobs.Cancelled}: true, {jobs.Queued, jobs.Failed}: true,
		{jobs.Running, jobs.Succeeded}: true, {jobs.Running, jobs.PartiallyFailed}: true, {jobs.Running, jobs.Failed}: true,
		{jobs.Running, jobs.Cancelled}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := jobs.CanMove(from, to); got != allowed[[2]jobs.State{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
}

// TestJobStatesAndKindsAreTheAPIs: the API shows states and kinds as they are.
func TestJobStatesAndKindsAreTheAPIs(t *testing.T) {
	for got, want := range map[jobs.State]string{jobs.Queued: agentv1.JobQueued, jobs.Running: agentv1.JobRunning, jobs.Succeeded: agentv1.JobSucceeded,
		jobs.PartiallyFailed: agentv1.JobPartiallyFailed, jobs.Failed: agentv1.JobFailed, jobs.Cancelled: agentv1.JobCancelled} {
		if string(got) != want {
			t.Errorf("state %q, the API's %q", got, want)
		}
	}
	for got, want := range map[jobs.Kind]string{jobs.KindBackup: agentv1.KindBackup, jobs.KindRestore: agentv1.KindRestore,
		jobs.KindRetentionDelete: agentv1.KindRetentionDelete, jobs.KindVerify: agentv1.KindVerify} {
		if string(got) != want {
			t.Errorf("kind %q, the API's %q", got, want)
		}
	}
}

func TestRecoveryPointNamesAreUnique(t *testing.T) {
	f := newFixture()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CET", 3600)) // 08:00 UTC
	if got := jobs.RecoveryPointName("shop", at); got != "shop-20261125080000" {
		t.Fatalf("name %q", got)
	}
	// A restore reading a point of that name does not take it; backups of the same second do.
	f.queue(t, jobs.NewJob{Kind: jobs.KindRestore, Instance: "shop", Cluster: "east", RecoveryPoint: "shop-20261125080000",
		Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{RecoveryPoint: "shop-20261125080000"}}})
	scheduled := f.backup(t, shop, at)
	onDemand := f.queue(t, jobs.BackupJob(shop, at, jobs.BackupTrigger{Trigger: jobs.TriggerOnDemand, By: "alice", OnDemand: true}))
	f.clk.t = at
	third := f.backup(t, shop, at)
	for i, j := range []jobs.Job{scheduled, onDemand, third} {
		want := []string{"shop-20261125080000", "shop-20261125080000-2", "shop-20261125080000-3"}[i]
		if j.RecoveryPoint != want || j.Spec.Backup.RecoveryPoint != want {
			t.Errorf("backup %d makes %q (spec %q), want %q", i, j.RecoveryPoint, j.Spec.Backup.RecoveryPoint, want)
		}
	}
	if !onDemand.Spec.Backup.OnDemand || onDemand.Trigger != jobs.TriggerOnDemand || onDemand.CreatedBy != "alice" || onDemand.Attempt != 1 {
		t.Errorf("on-demand backup %+v", onDemand)
	}
	// Another vault's names are its own.
	other, err := f.Queue(t.Context(), "dev", jobs.BackupJob(shop, at, jobs.BackupTrigger{Trigger: jobs.TriggerScheduled}))
	if err != nil || other.RecoveryPoint != "shop-20261125080000" {
		t.Errorf("other vault: %q %v", other.RecoveryPoint, err)
	}
}

func TestRestoreNames(t *testing.T) {
	long := strings.Repeat("x", 70)
	for rp, pattern := range map[string]string{
		"shop-20261125080000": `^r-shop-20261125080000-[0-9a-f]{6}$`,
		long:                  `^r-` + long[:52] + `-[0-9a-f]{6}$`,
	} {
		nj, err := jobs.RestoreJob(shop, rp, "east", "west", agentv1.RestoreOptions{DryRun: true}, "alice")
		if err != nil {
			t.Fatal(err)
		}
		r := nj.Spec.Restore
		if !regexp.MustCompile(pattern).MatchString(r.Name) || r.RecoveryPoint != rp || r.SourceCluster != "east" || !r.Options.DryRun ||
			r.Storage != shop.Storage || nj.Cluster != "west" || nj.Instance != "shop" || nj.Kind != jobs.KindRestore || nj.CreatedBy != "alice" {
			t.Errorf("restore of %q: %+v %+v", rp, nj, r)
		}
	}
	a, _ := jobs.RestoreName("p")
	b, _ := jobs.RestoreName("p")
	if a == b {
		t.Errorf("two restores named %q", a)
	}
}

func TestLeaseKeysSerialiseAnInstancesRepository(t *testing.T) {
	for _, c := range []struct {
		kind     jobs.Kind
		instance string
		want     string
	}{
		{jobs.KindBackup, "shop", "shop"}, {jobs.KindRetentionDelete, "shop", "shop"}, {jobs.KindVerify, "shop", "shop"},
		{jobs.KindRestore, "shop", ""}, {jobs.KindVerify, "", ""},
	} {
		if got := jobs.LeaseKey(c.kind, c.instance); got != c.want {
			t.Errorf("LeaseKey(%s, %q) = %q, want %q", c.kind, c.instance, got, c.want)
		}
	}

	f := newFixture()
	point := f.madePoint(t, shop)
	backup := f.backup(t, shop, t0.Add(time.Hour))
	expired := jobs.Deletion{RecoveryPoint: point, Reason: "expired"}
	if err := f.QueueDeletions(t.Context(), "prod", shop, jobs.TriggerRetention, "scheduler", expired); err != nil {
		t.Fatal(err)
	}
	restore := f.queue(t, jobs.NewJob{Kind: jobs.KindRestore, Instance: "shop", Cluster: "east", RecoveryPoint: point,
		Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{RecoveryPoint: point}}})
	other := f.backup(t, web, t0)
	f.claim(t, backup.ID)
	f.claim(t, restore.ID) // the deletion waits for the backup; the restore runs alongside it
	f.claim(t, other.ID)
	f.claim(t, 0)
	f.complete(t, backup.ID, agentv1.Completion{State: agentv1.JobFailed})
	if del := f.claim(t, backup.ID+1); del.Kind != jobs.KindRetentionDelete || del.Spec.Delete.RecoveryPoint != point {
		t.Errorf("deletion %+v", del)
	}
}

func TestCompletionEffects(t *testing.T) {
	f := newFixture()
	done := t0.Add(-time.Minute)
	for _, c := range []struct {
		name      string
		kind      jobs.Kind
		c         agentv1.Completion
		recorded  string // the phase of the recovery point recorded, if any
		deleted   bool
		lastLines []string
	}{
		{name: "backup succeeded", kind: jobs.KindBackup, c: agentv1.Completion{State: agentv1.JobSucceeded,
			Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Name: "ignored", Instance: "ignored", Phase: archive.PhaseCompleted,
				Items: 7, Namespaces: []string{"shop"}, Volumes: 2, OnDemand: true, Time: done}},
			Logs: []agentv1.LogLine{{Level: "info", Message: "done"}}}, recorded: archive.PhaseCompleted, lastLines: []string{"info: done"}},
		{name: "backup failed with a point", kind: jobs.KindBackup, c: agentv1.Completion{State: agentv1.JobFailed, Error: "boom",
			Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseFailed}}}, recorded: archive.PhaseFailed},
		{name: "backup failed without", kind: jobs.KindBackup, c: agentv1.Completion{State: agentv1.JobFailed, Error: "no passphrase"}},
		{name: "backup cancelled", kind: jobs.KindBackup, c: agentv1.Completion{State: agentv1.JobCancelled}},
		{name: "deletion succeeded", kind: jobs.KindRetentionDelete, c: agentv1.Completion{State: agentv1.JobSucceeded}, deleted: true},
		{name: "deletion failed", kind: jobs.KindRetentionDelete, c: agentv1.Completion{State: agentv1.JobFailed}},
		{name: "deletion partially failed", kind: jobs.KindRetentionDelete, c: agentv1.Completion{State: agentv1.JobPartiallyFailed}},
		{name: "verification", kind: jobs.KindVerify, c: agentv1.Completion{State: agentv1.JobSucceeded,
			Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.clk.advance(time.Hour)
			target := f.madePoint(t, shop)
			nj := jobs.BackupJob(shop, f.clk.t, jobs.BackupTrigger{Trigger: jobs.TriggerScheduled})
			if c.kind != jobs.KindBackup {
				nj = jobs.NewJob{Kind: c.kind, Instance: "shop", Cluster: "east", RecoveryPoint: target,
					Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: target}}}
			}
			j := f.queue(t, nj)
			f.claim(t, j.ID)
			f.complete(t, j.ID, c.c)

			got := f.get(t, j.ID)
			if string(got.State) != c.c.State || got.Error != c.c.Error || got.FinishedAt == nil || !got.FinishedAt.Equal(f.clk.t) ||
				(got.Result != nil) != (c.c.Result != nil) {
				t.Errorf("job after completion: %+v", got)
			}
			if r, _ := f.st.GetJob(t.Context(), "prod", j.ID); r.LeaseKey != "" {
				t.Errorf("a finished job holds lease key %q", r.LeaseKey)
			}
			if lines := f.logs(j.ID); !slices.Equal(lines, c.lastLines) {
				t.Errorf("log %q, want %q", lines, c.lastLines)
			}
			for _, l := range f.st.read().logs[j.ID] {
				if !l.Time.Equal(f.clk.t) {
					t.Errorf("a line without a time was stamped %v", l.Time)
				}
			}
			p, made := f.st.read().points["prod/"+j.RecoveryPoint]
			if c.kind == jobs.KindBackup && made != (c.recorded != "") {
				t.Fatalf("recovery point recorded %v, want phase %q", made, c.recorded)
			}
			if made && c.kind == jobs.KindBackup {
				want := jobs.RecoveryPoint{Name: j.RecoveryPoint, Instance: "shop", Cluster: "east", Time: f.clk.t, Phase: c.recorded, Job: j.ID}
				if rp := c.c.Result.RecoveryPoint; !rp.Time.IsZero() {
					want.Time, want.Items, want.Namespaces, want.Volumes, want.OnDemand = rp.Time, rp.Items, rp.Namespaces, rp.Volumes, rp.OnDemand
				}
				if p.Name != want.Name || p.Instance != want.Instance || p.Cluster != want.Cluster || !p.Time.Equal(want.Time) ||
					p.Phase != want.Phase || p.Job != want.Job || p.Items != want.Items || !slices.Equal(p.Namespaces, want.Namespaces) ||
					p.Volumes != want.Volumes || p.OnDemand != want.OnDemand {
					t.Errorf("recovery point %+v, want %+v", p.RecoveryPoint, want)
				}
			}
			if deleted := !f.st.read().points["prod/"+target].deleted.IsZero(); deleted != c.deleted {
				t.Errorf("target point deleted %v, want %v", deleted, c.deleted)
			}
		})
	}
}

func TestRefusedCompletionsAndReports(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	queued := f.backup(t, shop, t0)
	running := f.backup(t, web, t0)
	f.claim(t, queued.ID)
	f.claim(t, running.ID)
	f.complete(t, queued.ID, agentv1.Completion{State: agentv1.JobSucceeded})
	waiting := f.backup(t, web, t0.Add(time.Hour))
	ok := agentv1.Completion{State: agentv1.JobSucceeded}
	for _, c := range []struct {
		name    string
		vault   string
		cluster string
		id      int64
		c       agentv1.Completion
		want    error
	}{
		{"from another cluster", "prod", "west", running.ID, ok, jobs.ErrNotFound},
		{"of another vault", "dev", "east", running.ID, ok, jobs.ErrNotFound},
		{"of a queued job", "prod", "east", waiting.ID, ok, jobs.ErrNotFound},
		{"of an ended job", "prod", "east", queued.ID, ok, jobs.ErrNotFound},
		{"of no job", "prod", "east", 99, ok, jobs.ErrNotFound},
		{"in no final state", "prod", "east", running.ID, agentv1.Completion{State: "done"}, jobs.ErrInvalid},
		{"back to queued", "prod", "east", running.ID, agentv1.Completion{State: agentv1.JobQueued}, jobs.ErrInvalid},
		{"still running", "prod", "east", running.ID, agentv1.Completion{State: agentv1.JobRunning}, jobs.ErrInvalid},
	} {
		if err := f.Complete(ctx, c.vault, c.cluster, c.id, c.c); !errors.Is(err, c.want) {
			t.Errorf("completion %s: %v, want %v", c.name, err, c.want)
		}
		if errors.Is(c.want, jobs.ErrInvalid) {
			continue
		}
		report := agentv1.ProgressReport{Logs: []agentv1.LogLine{{Level: "info", Message: "x"}}}
		if _, err := f.ReportProgress(ctx, c.vault, c.cluster, c.id, report, time.Minute); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("progress %s: %v", c.name, err)
		}
	}
	if j := f.get(t, running.ID); j.State != jobs.Running || len(f.logs(running.ID)) != 0 {
		t.Errorf("refused calls changed the job: %+v %q", j, f.logs(running.ID))
	}
}

func TestProgressRenewsTheLease(t *testing.T) {
	f := newFixture()
	j := f.backup(t, shop, t0)
	f.claim(t, j.ID)
	for range 3 {
		f.clk.advance(50 * time.Second)
		cancel, err := f.ReportProgress(t.Context(), "prod", "east", j.ID, agentv1.ProgressReport{Progress: agentv1.JobProgress{Items: 5, Message: "pods"},
			Logs: []agentv1.LogLine{{Level: "info", Message: "a"}, {Time: t0, Level: "warn", Message: "b"}}}, time.Minute)
		if err != nil || cancel {
			t.Fatal(cancel, err)
		}
	}
	if expired, err := f.ExpireLeases(t.Context()); err != nil || len(expired) != 0 {
		t.Fatalf("a reporting job expired: %+v %v", expired, err)
	}
	if got := f.get(t, j.ID); got.State != jobs.Running || got.Progress != (jobs.Progress{Items: 5, Message: "pods"}) {
		t.Errorf("job %+v", got)
	}
	if lines := f.st.read().logs[j.ID]; len(lines) != 6 || !lines[0].Time.Equal(t0.Add(50*time.Second)) || !lines[1].Time.Equal(t0) {
		t.Errorf("log %+v", lines)
	}
}

func TestCancel(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	queued := f.backup(t, shop, t0)
	c, err := f.Cancel(ctx, "prod", queued.ID, "alice")
	if err != nil || c.State != jobs.Cancelled || c.Error != "cancelled by alice" || c.FinishedAt == nil || c.CancelRequested {
		t.Fatalf("cancel queued: %+v %v", c, err)
	}
	if _, err := f.Cancel(ctx, "prod", queued.ID, "bob"); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("cancel cancelled: %v", err)
	}
	f.claim(t, 0)

	running := f.backup(t, shop, t0)
	f.claim(t, running.ID)
	c, err = f.Cancel(ctx, "prod", running.ID, "bob")
	if err != nil || c.State != jobs.Running || !c.CancelRequested {
		t.Fatalf("cancel running: %+v %v", c, err)
	}
	if cancel, err := f.ReportProgress(ctx, "prod", "east", running.ID, agentv1.ProgressReport{}, time.Minute); err != nil || !cancel {
		t.Fatalf("the agent is not told: %v %v", cancel, err)
	}
	f.complete(t, running.ID, agentv1.Completion{State: agentv1.JobCancelled})
	if _, err := f.Cancel(ctx, "prod", running.ID, "bob"); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("cancel ended: %v", err)
	}
	if _, err := f.Cancel(ctx, "dev", running.ID, "bob"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("cancel another vault's job: %v", err)
	}
	for id, want := range map[int64][]string{queued.ID: {"info: cancel requested by alice"}, running.ID: {"info: cancel requested by bob"}} {
		if got := f.logs(id); !slices.Equal(got, want) {
			t.Errorf("job %d log %q, want %q", id, got, want)
		}
	}
}

func TestExpiredBackupIsRetriedUntilItsAttemptsRunOut(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	first := f.backup(t, shop, t0)
	verify := f.queue(t, jobs.NewJob{Kind: jobs.KindVerify, Instance: "web", Cluster: "east", Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{}}})
	f.claim(t, first.ID)
	f.claim(t, verify.ID)
	var incomplete []string
	j := first
	for attempt := 1; attempt <= jobs.MaxAttempts; attempt++ {
		incomplete = append(incomplete, j.RecoveryPoint)
		f.clk.advance(90 * time.Second) // the agent died
		expired, err := f.ExpireLeases(ctx)
		if err != nil || len(expired) == 0 || expired[0].Vault != "prod" || expired[0].Job != j.ID {
			t.Fatalf("attempt %d: expired %+v %v", attempt, expired, err)
		}
		if failed := f.get(t, j.ID); failed.State != jobs.Failed || !strings.Contains(failed.Error, "lease expired") {
			t.Fatalf("attempt %d: job %+v", attempt, failed)
		}
		if attempt == jobs.MaxAttempts {
			if expired[0].Retry != 0 {
				t.Fatalf("attempt %d of %d retried", attempt, jobs.MaxAttempts)
			}
			if got := f.logs(j.ID); !slices.Equal(got, []string{"error: the agent stopped reporting: job failed"}) {
				t.Errorf("last attempt's log %q", got)
			}
			break
		}
		retry := f.get(t, expired[0].Retry)
		b := retry.Spec.Backup
		if retry.Attempt != attempt+1 || retry.Trigger != jobs.TriggerRetry || retry.CreatedBy != "vault" || retry.State != jobs.Queued ||
			retry.RecoveryPoint != jobs.RecoveryPointName("shop", f.clk.t) || b.RecoveryPoint != retry.RecoveryPoint ||
			!slices.Equal(b.DeleteIncomplete, incomplete) || !slices.Equal(b.Config.IncludeNamespaces, []string{"shop"}) || b.Storage != shop.Storage {
			t.Fatalf("attempt %d: retry %+v %+v", attempt, retry, b)
		}
		if got := f.logs(j.ID); len(got) != 1 || !strings.Contains(got[0], "retried as job") {
			t.Errorf("attempt %d: log %q", attempt, got)
		}
		j = f.claim(t, retry.ID)
	}
	if got := f.get(t, verify.ID); got.State != jobs.Failed {
		t.Errorf("verification %+v", got)
	}
	if f.claim(t, 0); len(f.st.read().jobs) != 2+jobs.MaxAttempts-1 {
		t.Errorf("%d jobs, want the verification and %d backups", len(f.st.read().jobs), jobs.MaxAttempts)
	}
}

// reportingStore is a memStore whose job's agent reports just after the life cycle found its
// lease expired.
type reportingStore struct {
	*memStore
	report func()
}

func (s reportingStore) ExpiredLeases(ctx context.Context, now time.Time) ([]jobs.JobRef, error) {
	refs, err := s.memStore.ExpiredLeases(ctx, now)
	s.report()
	return refs, err
}

func TestAJobThatReportsMeanwhileDoesNotExpire(t *testing.T) {
	f := newFixture()
	j := f.backup(t, shop, t0)
	f.claim(t, j.ID)
	f.clk.advance(2 * time.Minute)
	l := jobs.New(reportingStore{f.st, func() {
		if _, err := f.ReportProgress(t.Context(), "prod", "east", j.ID, agentv1.ProgressReport{}, time.Minute); err != nil {
			t.Error(err)
		}
	}}, f.clk.now)
	if expired, err := l.ExpireLeases(t.Context()); err != nil || len(expired) != 0 {
		t.Fatalf("expired %+v %v", expired, err)
	}
	if got := f.get(t, j.ID); got.State != jobs.Running || len(f.st.read().jobs) != 1 {
		t.Errorf("job %+v, %d jobs", got, len(f.st.read().jobs))
	}
}

func TestRecordRuns(t *testing.T) {
	f := newFixture()
	f.st.perTx = 2
	at := t0.Add(time.Hour)
	// run is a run of in's schedule `late` after at; its backup is named after at, so that the
	// runs' recovery points need telling apart across transactions.
	run := func(in jobs.Instance, late time.Duration, busy bool) jobs.Run {
		r := jobs.Run{Instance: in.Name, At: at.Add(late)}
		if !busy {
			nj := jobs.BackupJob(in, at, jobs.BackupTrigger{Trigger: jobs.TriggerScheduled, By: "scheduler"})
			r.Backup = &nj
		}
		return r
	}
	runs := []jobs.Run{run(web, 0, true), run(shop, 0, false), run(shop, time.Minute, false), run(shop, 2*time.Minute, false),
		run(shop, 3*time.Minute, false)}
	ids, err := f.RecordRuns(t.Context(), "prod", runs)
	if err != nil || len(ids) != 4 {
		t.Fatalf("ids %v %v", ids, err)
	}
	for i, id := range ids {
		want := []string{"shop-20261125090000", "shop-20261125090000-2", "shop-20261125090000-3", "shop-20261125090000-4"}[i]
		if j := f.get(t, id); j.RecoveryPoint != want || j.Spec.Backup.RecoveryPoint != want || j.Trigger != jobs.TriggerScheduled {
			t.Errorf("run %d made %+v, want %q", i, j, want)
		}
	}
	for name, want := range map[string]time.Time{"shop": at.Add(3 * time.Minute), "web": at} {
		if got := f.st.read().lastScheduled["prod/"+name]; !got.Equal(want) {
			t.Errorf("%s last scheduled %v, want %v", name, got, want)
		}
	}

	// Runs recorded already (by another scheduler) queue nothing, and later ones still do.
	ids, err = f.RecordRuns(t.Context(), "prod", []jobs.Run{run(shop, 0, false), run(shop, 3*time.Minute, false), run(web, 0, false),
		run(web, time.Minute, false)})
	if err != nil || len(ids) != 1 || f.get(t, ids[0]).Instance != "web" {
		t.Fatalf("runs again: ids %v %v", ids, err)
	}

	// A run that cannot be recorded rolls back its transaction and stops the rest.
	f.st.failRunOf = "broken"
	broken := jobs.Instance{Name: "broken", Cluster: "east"}
	a, b, c := jobs.Instance{Name: "a", Cluster: "east"}, jobs.Instance{Name: "b", Cluster: "east"}, jobs.Instance{Name: "c", Cluster: "east"}
	ids, err = f.RecordRuns(t.Context(), "prod", []jobs.Run{run(a, 0, false), run(b, 0, false), run(c, 0, false), run(broken, 0, false),
		run(web, time.Hour, false)})
	if err == nil || len(ids) != 2 || f.get(t, ids[0]).Instance != "a" || f.get(t, ids[1]).Instance != "b" {
		t.Fatalf("ids %v, %v", ids, err)
	}
	for name, want := range map[string]bool{"a": true, "b": true, "c": false, "broken": false} {
		if _, got := f.st.read().lastScheduled["prod/"+name]; got != want {
			t.Errorf("%s recorded %v", name, got)
		}
		if open, _ := f.st.HasOpenJob(t.Context(), "prod", name, jobs.KindBackup, ""); open != want {
			t.Errorf("%s has a backup: %v", name, open)
		}
	}
}

func TestDeletions(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	var points []string
	for range 3 {
		f.clk.advance(time.Hour)
		points = append(points, f.madePoint(t, shop))
	}
	first := jobs.Deletion{RecoveryPoint: points[0], Reason: "expired: default 7d"}
	for range 2 {
		if err := f.QueueDeletions(ctx, "prod", shop, jobs.TriggerRetention, "scheduler", first); err != nil {
			t.Fatal(err)
		}
	}
	del := f.claim(t, 4)
	if del.Kind != jobs.KindRetentionDelete || del.Trigger != jobs.TriggerRetention || del.CreatedBy != "scheduler" ||
		*del.Spec.Delete != (agentv1.DeleteJob{RecoveryPoint: points[0], Storage: shop.Storage, Reason: first.Reason}) {
		t.Fatalf("deletion %+v", del)
	}
	f.complete(t, del.ID, agentv1.Completion{State: agentv1.JobSucceeded})
	f.claim(t, 0)
	if err := f.QueueDeletions(ctx, "prod", shop, jobs.TriggerRetention, "scheduler", jobs.Deletion{RecoveryPoint: points[1]}); err != nil {
		t.Fatal(err)
	}
	all := []jobs.Deletion{}
	for _, p := range points[1:] {
		all = append(all, jobs.Deletion{RecoveryPoint: p, Reason: "stopped by bob", GC: true})
	}
	if err := f.QueueDeletions(ctx, "prod", shop, jobs.TriggerUser, "bob", all...); err != nil {
		t.Fatal(err)
	}
	// points[0] is deleted and points[1]'s deletion is queued already: only points[2] is added.
	for _, want := range []agentv1.DeleteJob{
		{RecoveryPoint: points[1], Storage: shop.Storage},
		{RecoveryPoint: points[2], Storage: shop.Storage, Reason: "stopped by bob", GC: true},
	} {
		got := f.claim(t, del.ID+map[string]int64{points[1]: 1, points[2]: 2}[want.RecoveryPoint])
		if *got.Spec.Delete != want {
			t.Errorf("deletion %+v, want %+v", got.Spec.Delete, want)
		}
		f.complete(t, got.ID, agentv1.Completion{State: agentv1.JobSucceeded})
	}
	if names, _ := f.st.RecoveryPointNames(ctx, "prod", "shop"); len(names) != 0 {
		t.Errorf("left %v", names)
	}
}

func TestLog(t *testing.T) {
	f := newFixture()
	j := f.backup(t, shop, t0)
	if err := f.Log(t.Context(), j.ID, "info", "claimed by the agent of cluster east"); err != nil {
		t.Fatal(err)
	}
	if lines := f.st.read().logs[j.ID]; len(lines) != 1 || !lines[0].Time.Equal(t0) || lines[0].Message != "claimed by the agent of cluster east" {
		t.Errorf("log %+v", lines)
	}
}

// TestOnEndTimesCompletedJobs: a job an agent completes is reported with its kind, final state
// and how long it ran, once, after it is stored; a refused completion is not.
func TestOnEndTimesCompletedJobs(t *testing.T) {
	f := newFixture()
	var got []string
	f.OnEnd(func(kind jobs.Kind, state jobs.State, ran time.Duration) {
		got = append(got, fmt.Sprintf("%s %s %s", kind, state, ran))
	})
	j := f.backup(t, shop, t0)
	f.claim(t, j.ID)
	f.clk.advance(90 * time.Second)
	f.complete(t, j.ID, agentv1.Completion{State: agentv1.JobFailed, Error: "no passphrase"})
	if err := f.Complete(t.Context(), "prod", "east", j.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err == nil {
		t.Fatal("a second completion was taken")
	}
	if len(got) != 1 || got[0] != "backup failed 1m30s" {
		t.Fatalf("reported %q, want one backup failed after 1m30s", got)
	}
}
