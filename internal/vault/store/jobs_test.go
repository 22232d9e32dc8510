package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// withClock makes st run on a settable clock starting at fixedClock.
func withClock(st *Store) *clock {
	c := &clock{t: fixedClock()}
	st.now = c.now
	return c
}

// lifecycle is the job life cycle over st, on st's clock.
func lifecycle(st *Store) *jobs.Lifecycle {
	return jobs.New(st, func() time.Time { return st.now() })
}

// protect registers cluster, creates policy p-<name> and instance name.
func protect(t *testing.T, st *Store, cluster, name string) Instance {
	t.Helper()
	ctx := t.Context()
	if _, err := st.GetCluster(ctx, "prod", cluster); errors.Is(err, ErrNotFound) {
		if _, _, err := st.RegisterCluster(ctx, "prod", cluster); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreatePolicy(ctx, "prod", daily("p-"+name)); err != nil {
		t.Fatal(err)
	}
	in, err := st.CreateInstance(ctx, "prod", InstanceSpec{Name: name, Cluster: cluster, Policy: "p-" + name,
		Backup: mustJSON(t, vaultv1.BackupConfig{}), Storage: mustJSON(t, vaultv1.StorageLocation{URL: "file:///b/" + name, PassphraseSecret: "pass"})})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storage is the instance's storage location.
func storage(t *testing.T, in Instance) agentv1.StorageLocation {
	t.Helper()
	ji, err := jobs.DecodeInstance(in.Name, in.Cluster, in.Backup, in.Storage)
	if err != nil {
		t.Fatal(err)
	}
	return ji.Storage
}

func backupJob(t *testing.T, st *Store, in Instance, rp string) jobs.Job {
	t.Helper()
	j, err := lifecycle(st).Queue(t.Context(), "prod", jobs.NewJob{Kind: jobs.KindBackup, Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: rp,
		Trigger: "scheduled", CreatedBy: "scheduler", Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: rp, Storage: storage(t, in)}}})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func newVault(t *testing.T, st *Store) {
	t.Helper()
	if err := st.EnsureVault(t.Context(), "prod"); err != nil {
		t.Fatal(err)
	}
}

func TestClusterTrustGrant(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		c, token, err := st.RegisterCluster(ctx, "prod", "east")
		if err != nil || c.Health != vaultv1.HealthPending || token == "" {
			t.Fatalf("register: %+v %q %v", c, token, err)
		}
		if _, _, err := st.RegisterCluster(ctx, "prod", "east"); !errors.Is(err, ErrExists) {
			t.Fatalf("second register: %v", err)
		}
		p, err := st.LookupToken(ctx, token)
		if err != nil || p != (access.Principal{Vault: "prod", Name: "east", Role: access.RoleAgent}) {
			t.Fatalf("lookup: %+v %v", p, err)
		}
		clk := withClock(st)
		if err := st.Heartbeat(ctx, "prod", "east", Heartbeat{AgentVersion: "v0.7", KubernetesVersion: "v1.35.4"}); err != nil {
			t.Fatal(err)
		}
		if c, _ = st.GetCluster(ctx, "prod", "east"); c.Health != vaultv1.HealthHealthy || c.KubernetesVersion != "v1.35.4" {
			t.Fatalf("after heartbeat: %+v", c)
		}
		clk.advance(UnhealthyAfter + time.Second)
		if c, _ = st.GetCluster(ctx, "prod", "east"); c.Health != vaultv1.HealthUnhealthy {
			t.Fatalf("silent agent: %+v", c)
		}
		in := protect(t, st, "east", "shop")
		queued := backupJob(t, st, in, "shop-1")
		if c, err = st.RevokeCluster(ctx, "prod", "east"); err != nil || c.Health != vaultv1.HealthRevoked {
			t.Fatalf("revoke: %+v %v", c, err)
		}
		if _, err := st.LookupToken(ctx, token); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked token still works: %v", err)
		}
		if j, _ := st.GetJob(ctx, "prod", queued.ID); j.State != vaultv1.JobFailed || j.Error == "" {
			t.Fatalf("queued job after revoke: %+v", j)
		}
		if _, err := st.RevokeCluster(ctx, "prod", "east"); !errors.Is(err, ErrConflict) {
			t.Fatalf("second revoke: %v", err)
		}
		_, token2, err := st.RegisterCluster(ctx, "prod", "east")
		if err != nil || token2 == token {
			t.Fatalf("re-register: %v", err)
		}
		if p, err := st.LookupToken(ctx, token2); err != nil || p.Name != "east" {
			t.Fatalf("new token: %+v %v", p, err)
		}
	})
}

func TestInstanceRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		in := protect(t, st, "east", "shop")
		spec := in.InstanceSpec
		spec.Name = "shop2"
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrExists) {
			t.Errorf("same cluster and policy: %v", err)
		}
		spec = in.InstanceSpec
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrExists) {
			t.Errorf("same name: %v", err)
		}
		spec.Name, spec.Cluster = "x", "nowhere"
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown cluster: %v", err)
		}
		spec.Cluster, spec.Policy = "east", "nopolicy"
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown policy: %v", err)
		}
		if err := st.DeletePolicy(ctx, "prod", "p-shop"); !errors.Is(err, ErrConflict) {
			t.Errorf("delete a policy in use: %v", err)
		}
		if err := st.DeleteInstance(ctx, "prod", "shop"); !errors.Is(err, ErrConflict) {
			t.Errorf("delete a protected instance: %v", err)
		}
		if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); !errors.Is(err, ErrConflict) {
			t.Errorf("stop twice: %v", err)
		}
		if err := st.DeleteInstance(ctx, "prod", "shop"); err != nil {
			t.Errorf("delete a stopped instance without data: %v", err)
		}
		if list, _ := st.ListInstances(ctx, "prod", InstanceFilter{}); len(list) != 0 {
			t.Errorf("left: %+v", list)
		}
	})
}

func TestJobLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		lc := lifecycle(st)
		shop := protect(t, st, "east", "shop")
		web := protect(t, st, "east", "web")
		protect(t, st, "west", "other")
		b1 := backupJob(t, st, shop, "shop-1")
		b2 := backupJob(t, st, shop, "shop-2")
		w1 := backupJob(t, st, web, "web-1")

		// Oldest first; a second job of the same instance waits for the first.
		j, ok, err := lc.Claim(ctx, "prod", "east", time.Minute)
		if err != nil || !ok || j.ID != b1.ID || j.State != vaultv1.JobRunning {
			t.Fatalf("claim 1: %+v %v %v", j, ok, err)
		}
		j, ok, err = lc.Claim(ctx, "prod", "east", time.Minute)
		if err != nil || !ok || j.ID != w1.ID {
			t.Fatalf("claim 2 must skip shop's second backup: %+v %v %v", j, ok, err)
		}
		if _, ok, _ = lc.Claim(ctx, "prod", "east", time.Minute); ok {
			t.Fatal("claimed while shop's backup runs")
		}
		if _, ok, _ = lc.Claim(ctx, "prod", "west", time.Minute); ok {
			t.Fatal("west claimed east's job")
		}

		// Progress from another cluster is refused; from the owner it renews and logs.
		rep := agentv1.ProgressReport{Progress: agentv1.JobProgress{Items: 7, Message: "configmaps"},
			Logs: []agentv1.LogLine{{Level: "info", Message: "a"}, {Level: "warn", Message: "b"}}}
		if _, err := lc.ReportProgress(ctx, "prod", "west", b1.ID, rep, time.Minute); !errors.Is(err, ErrNotFound) {
			t.Fatalf("progress from west: %v", err)
		}
		if cancel, err := lc.ReportProgress(ctx, "prod", "east", b1.ID, rep, time.Minute); err != nil || cancel {
			t.Fatalf("progress: %v %v", cancel, err)
		}
		if _, err := lc.Cancel(ctx, "prod", b1.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		if cancel, _ := lc.ReportProgress(ctx, "prod", "east", b1.ID, rep, time.Minute); !cancel {
			t.Fatal("cancel not passed to the agent")
		}
		err = lc.Complete(ctx, "prod", "east", b1.ID, agentv1.Completion{State: agentv1.JobSucceeded,
			Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 7, StoredBytes: 100,
				SnapshotBytes: 1000, Namespaces: []string{"shop", "db"}, Time: clk.t}},
			Logs: []agentv1.LogLine{{Level: "info", Message: "done"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := lc.Complete(ctx, "prod", "east", b1.ID, agentv1.Completion{State: agentv1.JobSucceeded}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second completion: %v", err)
		}
		rp, err := st.GetRecoveryPoint(ctx, "prod", "shop-1")
		if err != nil || rp.Instance != "shop" || rp.Cluster != "east" || rp.Job != b1.ID || rp.Items != 7 {
			t.Fatalf("recovery point: %+v %v", rp, err)
		}
		logs, err := st.JobLogs(ctx, "prod", b1.ID, 0, 0)
		if err != nil || len(logs.Items) != 6 || logs.Items[5].Message != "done" || logs.Items[5].Seq != 6 {
			t.Fatalf("logs: %+v %v", logs, err)
		}
		if later, _ := st.JobLogs(ctx, "prod", b1.ID, 4, 0); len(later.Items) != 2 {
			t.Fatalf("logs after 4: %+v", later)
		}

		// Now shop's second backup may run.
		if j, ok, _ = lc.Claim(ctx, "prod", "east", time.Minute); !ok || j.ID != b2.ID {
			t.Fatalf("claim 3: %+v", j)
		}
		// Its agent goes silent: the job fails and a retry is queued that deletes the incomplete point.
		clk.advance(2 * time.Minute)
		expired, err := lc.ExpireLeases(ctx)
		if err != nil || len(expired) != 2 {
			t.Fatalf("expire: %+v %v", expired, err)
		}
		failed, _ := st.GetJob(ctx, "prod", b2.ID)
		if failed.State != vaultv1.JobFailed {
			t.Fatalf("expired job: %+v", failed)
		}
		var retry jobs.Job
		for _, e := range expired {
			if e.Job == b2.ID {
				retry, _ = lc.Get(ctx, "prod", e.Retry)
			} else if _, err := lc.Cancel(ctx, "prod", e.Retry, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if retry.Attempt != 2 || retry.Trigger != "retry" || retry.Spec.Backup.RecoveryPoint != jobs.RecoveryPointName("shop", clk.t) ||
			len(retry.Spec.Backup.DeleteIncomplete) != 1 || retry.Spec.Backup.DeleteIncomplete[0] != "shop-2" {
			t.Fatalf("retry: %+v", retry)
		}
		if err := lc.Complete(ctx, "prod", "east", b2.ID, agentv1.Completion{State: agentv1.JobSucceeded}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("late completion of an expired job: %v", err)
		}

		// Cancel: queued at once; finished refused.
		c, err := lc.Cancel(ctx, "prod", retry.ID, "bob")
		if err != nil || c.State != vaultv1.JobCancelled {
			t.Fatalf("cancel queued: %+v %v", c, err)
		}
		if _, err := lc.Cancel(ctx, "prod", retry.ID, "bob"); !errors.Is(err, ErrConflict) {
			t.Fatalf("cancel finished: %v", err)
		}

		// Retention deletion marks the point deleted.
		del, err := lc.Queue(ctx, "prod", jobs.NewJob{Kind: agentv1.KindRetentionDelete, Instance: "shop", Cluster: "east", RecoveryPoint: "shop-1",
			Trigger: "retention", CreatedBy: "scheduler", Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: "shop-1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if open, _ := st.HasOpenJob(ctx, "prod", "shop", agentv1.KindRetentionDelete, "shop-1"); !open {
			t.Fatal("deletion not open")
		}
		if j, ok, _ = lc.Claim(ctx, "prod", "east", time.Minute); !ok || j.ID != del.ID {
			t.Fatalf("claim deletion: %+v", j)
		}
		if err := lc.Complete(ctx, "prod", "east", del.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetRecoveryPoint(ctx, "prod", "shop-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted point still listed: %v", err)
		}
		all, _ := st.ListRecoveryPoints(ctx, "prod", RecoveryPointFilter{Instance: "shop", IncludeDeleted: true}, Page{})
		if len(all.Items) != 1 {
			t.Fatalf("with deleted: %+v", all)
		}
		if err := lc.Complete(ctx, "prod", "east", w1.ID, agentv1.Completion{State: "done"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad state: %v", err)
		}
	})
}

func TestPaging(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		in := protect(t, st, "east", "shop")
		for i := 0; i < 25; i++ {
			backupJob(t, st, in, "p"+string(rune('a'+i)))
		}
		var ids []int64
		page := Page{Limit: 10}
		for {
			list, err := st.ListJobs(ctx, "prod", JobFilter{Instance: "shop"}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range list.Items {
				ids = append(ids, j.ID)
			}
			if list.Next == "" {
				break
			}
			page.Cursor = list.Next
		}
		if len(ids) != 25 {
			t.Fatalf("%d jobs over the pages", len(ids))
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("not newest first: %v", ids)
			}
		}
		if _, err := st.ListJobs(ctx, "prod", JobFilter{}, Page{Cursor: "zzz"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
		if err := st.AppendAudit(ctx, "prod", AuditEntry{Principal: "alice", Role: access.RoleContributor, Operation: "POST /api/v1/instances", Object: "/api/v1/instances", Status: 201}); err != nil {
			t.Fatal(err)
		}
		audit, err := st.ListAudit(ctx, "prod", Page{})
		if err != nil || len(audit.Items) != 1 || audit.Items[0].Principal != "alice" {
			t.Fatalf("audit: %+v %v", audit, err)
		}
	})
}

func TestRecordRunsNamesUniquelyAcrossTransactions(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		shop, web := protect(t, st, "east", "shop"), protect(t, st, "east", "web")
		at := fixedClock().Add(time.Hour)
		job := func(in Instance) *jobs.NewJob {
			rp := in.Name + "-20261125090000"
			return &jobs.NewJob{Kind: agentv1.KindBackup, Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: rp, Trigger: "scheduled",
				Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: rp, Storage: storage(t, in)}}}
		}
		// More runs than one transaction takes; the same instance's name is taken again and again.
		runs := []jobs.Run{{Instance: web.Name, At: at}} // web is busy: recorded, nothing queued
		for i := range runsPerTransaction + 2 {
			runs = append(runs, jobs.Run{Instance: shop.Name, At: at.Add(time.Duration(i) * time.Second), Backup: job(shop)})
		}
		lc := lifecycle(st)
		ids, err := lc.RecordRuns(ctx, "prod", runs)
		if err != nil || len(ids) != runsPerTransaction+2 {
			t.Fatalf("%d ids, %v", len(ids), err)
		}
		seen := map[string]bool{}
		for i, id := range ids {
			j, err := lc.Get(ctx, "prod", id)
			if err != nil {
				t.Fatal(err)
			}
			want := "shop-20261125090000"
			if i > 0 {
				want = fmt.Sprintf("%s-%d", want, i+1)
			}
			if j.Spec.Backup.RecoveryPoint != want || seen[want] {
				t.Fatalf("job %d makes %q, want %q", i, j.Spec.Backup.RecoveryPoint, want)
			}
			seen[want] = true
		}
		for name, want := range map[string]time.Time{"shop": runs[len(runs)-1].At, "web": at} {
			in, err := st.GetInstance(ctx, "prod", name)
			if err != nil || in.LastScheduled == nil || !in.LastScheduled.Equal(want) {
				t.Errorf("%s last scheduled %v, want %v (%v)", name, in.LastScheduled, want, err)
			}
		}
		jobs, err := st.ListJobs(ctx, "prod", JobFilter{Instance: "web"}, Page{})
		if err != nil || len(jobs.Items) != 0 {
			t.Errorf("the busy instance got jobs: %+v %v", jobs.Items, err)
		}
	})
}

// Two schedulers on one database (a leader that paused past its lease and the replica that took
// over) recording the same due runs at once queue each backup once.
func TestScheduledRunIsQueuedOnceByOverlappingSchedulers(t *testing.T) {
	eachBackendReopen(t, func(t *testing.T, open func() *Store) {
		ctx := t.Context()
		first, second := open(), open()
		newVault(t, first)
		var runs []jobs.Run
		at := fixedClock().Add(time.Hour)
		for i := range 40 {
			in := protect(t, first, "east", fmt.Sprintf("app%02d", i))
			rp := in.Name + "-20261125090000"
			runs = append(runs, jobs.Run{Instance: in.Name, At: at, Backup: &jobs.NewJob{Kind: agentv1.KindBackup, Instance: in.Name,
				Cluster: in.Cluster, RecoveryPoint: rp, Trigger: "scheduled",
				Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: rp, Storage: storage(t, in)}}}})
		}
		queued := make([][]int64, 2)
		var wg sync.WaitGroup
		for i, st := range []*Store{first, second} {
			wg.Go(func() {
				ids, err := lifecycle(st).RecordRuns(ctx, "prod", runs)
				if err != nil {
					t.Errorf("scheduler %d: %v", i, err)
				}
				queued[i] = ids
			})
		}
		wg.Wait()
		if n := len(queued[0]) + len(queued[1]); n != len(runs) {
			t.Fatalf("%d backups queued for %d due runs (%d and %d)", n, len(runs), len(queued[0]), len(queued[1]))
		}
		all, err := first.ListJobs(ctx, "prod", JobFilter{}, Page{Limit: 100})
		if err != nil || len(all.Items) != len(runs) {
			t.Fatalf("%d jobs stored, %v", len(all.Items), err)
		}
	})
}
