package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestBadInputIsRefusedAndWritesNothing sends invalid requests to every writing route: each gets
// a 4xx naming what is wrong, and the vault holds the same objects afterwards.
func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	f := newFixture(t)
	contributor := f.tokens[access.RoleContributor]
	f.instance(t, "shop")
	rp := f.recoveryPoint(t, "web")
	f.createPolicy(t, "prod", "spare")
	tiered := validPolicy("tiered")
	tiered.Copy = &policy.CopyTier{Daily: true, Retention: policy.Retention{Default: policy.Duration(365 * 24 * time.Hour)}}
	if err := f.st.CreatePolicy(t.Context(), "prod", tiered); err != nil {
		t.Fatal(err)
	}
	f.cluster(t, "spare-cluster")

	spec := func(mut func(*vaultv1.InstanceSpec)) string {
		s := instanceSpec("new")
		s.Cluster, s.Policy = "spare-cluster", "spare"
		mut(&s)
		return mustJSON(s)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		field, contains          string
	}{
		{"malformed JSON", "POST", "/api/v1/instances", `{"name": "x",`, 400, "", "request body"},
		{"unknown field", "POST", "/api/v1/instances", `{"name":"x","colour":"red"}`, 400, "", "colour"},
		{"wrong type", "POST", "/api/v1/instances", `{"name":7}`, 400, "name", "request body"},
		{"empty body", "POST", "/api/v1/clusters", ``, 400, "", "empty"},
		{"cluster name", "POST", "/api/v1/clusters", `{"name":"Prod_1"}`, 422, "name", "a-z"},
		{"cluster twice", "POST", "/api/v1/clusters", `{"name":"c-shop"}`, 409, "", "already registered"},
		{"instance name too long", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Name = strings.Repeat("a", 41) }), 422, "name", "1-40"},
		{"unknown cluster", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Cluster = "nowhere" }), 422, "cluster", "not registered"},
		{"unknown policy", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Policy = "nopolicy" }), 422, "policy", "does not exist"},
		{"duplicate instance", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Name = "shop" }), 409, "", "shop"},
		{"same cluster and policy", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Cluster, s.Policy = "c-shop", "p-shop" }), 409, "", "one instance per cluster and policy"},
		{"no storage", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Storage.URL = "" }), 422, "storage.url", "required"},
		{"storage scheme", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Storage.URL = "ftp://x/y" }), 422, "storage.url", "ftp"},
		{"credentials in URL", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Storage.URL = "s3://key:secret@bucket" }), 422, "storage.url", "credentials"},
		{"no passphrase secret", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Storage.PassphraseSecret = "" }), 422, "storage.passphraseSecret", "required"},
		{"bad selector", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Backup.LabelSelectors = []string{"app in (a"} }), 422, "backup", "selector"},
		{"bad hook ref", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Backup.BackupHooks = []string{"nonamespace"} }), 422, "backup.backupHooks[0]", ""},
		{"class without snapshots", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Backup.SnapshotClass = "csi" }), 422, "backup.snapshotClass", "snapshotVolumes"},
		{"copy tier without snapshots", "POST", "/api/v1/instances", spec(func(s *vaultv1.InstanceSpec) { s.Policy = "tiered" }), 422,
			"backup.snapshotVolumes", `policy "tiered" has a copy tier`},
		{"policy copy tier", "POST", "/api/v1/policies", `{"name":"bad","schedule":{"everyHours":4},"retention":{"default":"7d"},"copy":{"retention":{"default":"1y"}}}`,
			422, "copy", "copy: say which backups copy"},
		{"retain", "POST", "/api/v1/instances/shop/backup", `{"retain":"3x"}`, 422, "retain", "3x"},
		{"backup now volume data", "POST", "/api/v1/instances/shop/backup", `{"volumeData":"all"}`, 422, "volumeData", "snapshot+copy"},
		{"backup now copy without snapshots", "POST", "/api/v1/instances/shop/backup", `{"volumeData":"copy"}`, 422, "volumeData", "snapshotVolumes: false"},
		{"backup unknown instance", "POST", "/api/v1/instances/nope/backup", ``, 404, "", "nope"},
		{"resume protected", "POST", "/api/v1/instances/shop/resume", ``, 409, "", "protected"},
		{"delete protected", "DELETE", "/api/v1/instances/shop", ``, 409, "", "stop it first"},
		{"delete policy in use", "DELETE", "/api/v1/policies/p-shop", ``, 409, "", "used by instance"},
		{"restore without point", "POST", "/api/v1/restores", `{"options":{}}`, 422, "recoveryPoint", "required"},
		{"restore unknown point", "POST", "/api/v1/restores", `{"recoveryPoint":"nope"}`, 422, "recoveryPoint", "does not exist"},
		{"restore unknown target", "POST", "/api/v1/restores", `{"recoveryPoint":"` + rp.Name + `","targetCluster":"mars"}`, 422, "targetCluster", "not registered"},
		{"restore conflict policy", "POST", "/api/v1/restores", `{"recoveryPoint":"` + rp.Name + `","options":{"conflictPolicy":"merge"}}`, 422, "options.conflictPolicy", "merge"},
		{"restore volumes", "POST", "/api/v1/restores", `{"recoveryPoint":"` + rp.Name + `","options":{"volumes":"some"}}`, 422, "options.volumes", "some"},
		{"restore mapping", "POST", "/api/v1/restores", `{"recoveryPoint":"` + rp.Name + `","options":{"namespaceMapping":{"shop":"Shop!"}}}`, 422, "options.namespaceMapping", "Shop!"},
		{"job id", "POST", "/api/v1/jobs/abc/cancel", ``, 404, "", "positive"},
		{"unknown job", "POST", "/api/v1/jobs/99999/cancel", ``, 404, "", "99999"},
		{"limit", "GET", "/api/v1/jobs?limit=-3", ``, 400, "limit", "-3"},
		{"cursor", "GET", "/api/v1/recovery-points?cursor=abc", ``, 422, "cursor", "abc"},
	}
	before := f.snapshot(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.do(t, c.method, c.path, contributor, c.body)
			if rec.Code != c.status {
				t.Fatalf("got %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			e := decodeErrorBody(t, rec)
			if e.Field != c.field || !strings.Contains(e.Message, c.contains) {
				t.Errorf("error %+v; want field %q and a message with %q", e, c.field, c.contains)
			}
		})
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("refused calls changed the vault:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot renders the vault's clusters, instances, recovery points and jobs.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	clusters, err := f.st.ListClusters(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	instances, err := f.st.ListInstances(ctx, "prod", store.InstanceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rps, err := f.st.ListRecoveryPoints(ctx, "prod", store.RecoveryPointFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := f.st.ListJobs(ctx, "prod", store.JobFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	policies, err := f.st.ListPolicies(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON([]any{clusters, instances, rps, jobs, policies})
}

func TestInstanceLifecycleOverTheAPI(t *testing.T) {
	f := newFixture(t)
	op, contributor, reader := f.tokens[access.RoleOperator], f.tokens[access.RoleContributor], f.tokens[access.RoleReader]
	f.cluster(t, "c-shop")
	f.createPolicy(t, "prod", "p-shop")
	rec := f.do(t, "POST", "/api/v1/instances", contributor, instanceSpecJSON("shop"))
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"nextBackup"`) {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	// Creating it queued its validation, which its agent runs first.
	validation := f.claim(t, "c-shop", f.lastJob(t))
	if v := validation.Spec.Validate; validation.Kind != jobs.KindValidate || v == nil || v.Instance != "shop" || v.Storage.PassphraseSecret == "" {
		t.Fatalf("validation job %+v", validation)
	}
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-shop", validation.ID, agentv1.Completion{State: agentv1.JobFailed, Error: "1 check failed",
		Result: &agentv1.JobResult{Checks: []agentv1.Check{{Name: "secret", Message: "secret not found"}}}}); err != nil {
		t.Fatal(err)
	}
	rec = f.do(t, "GET", "/api/v1/instances/shop", reader, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"validation":{"state":"failed","jobId":1,`) ||
		!strings.Contains(rec.Body.String(), `"checks":[{"name":"secret","ok":false,"message":"secret not found"}]`) {
		t.Fatalf("instance after its validation: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, "POST", "/api/v1/instances/shop/validate", op, "")
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"kind":"validate"`) {
		t.Fatalf("validate: %d %s", rec.Code, rec.Body)
	}
	again := f.claim(t, "c-shop", f.lastJob(t))
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-shop", again.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	rec = f.do(t, "POST", "/api/v1/instances/shop/backup", op, `{"retain":"30d"}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("backup now: %d %s", rec.Code, rec.Body)
	}
	job := f.claim(t, "c-shop", f.lastJob(t))
	if job.Spec.Backup == nil || !job.Spec.Backup.OnDemand || job.Spec.Backup.ExpiresAt == nil ||
		!strings.HasPrefix(job.Spec.Backup.RecoveryPoint, "shop-2026") {
		t.Fatalf("backup job %+v", job.Spec.Backup)
	}
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-shop", job.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, StoredBytes: 2 << 30, SnapshotBytes: 10 << 30,
			Namespaces: []string{"shop", "db"}, Time: fixedClock()}}}); err != nil {
		t.Fatal(err)
	}
	f.srv.cfg.Prices = vaultv1.Prices{Currency: "EUR", NamespaceMonth: 10, StorageGiBMonth: 0.02, SnapshotGiBMonth: 0.05}
	rec = f.do(t, "GET", "/api/v1/usage", reader, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"monthlyCost":20.54`) {
		t.Fatalf("usage: %s", rec.Body)
	}
	rec = f.do(t, "POST", "/api/v1/instances/shop/stop", contributor, `{"deleteData":true}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), vaultv1.InstanceStoppedDeleting) {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
	// Its points are soft-deleted: kept and listed as deleted until the scheduler purges them.
	rec = f.do(t, "GET", "/api/v1/recovery-points?deleted=true", reader, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), job.Spec.Backup.RecoveryPoint) || !strings.Contains(rec.Body.String(), `"by":"contributor-user"`) {
		t.Fatalf("deleted points: %d %s", rec.Code, rec.Body)
	}
	if rec = f.do(t, "DELETE", "/api/v1/instances/shop", contributor, ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "soft-delete days") {
		t.Fatalf("delete with a point kept: %d %s", rec.Code, rec.Body)
	}
	ji, err := jobsInstance(f.instanceNamed(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	// The purge, as the scheduler queues it once the soft-delete days have passed.
	if err := f.srv.jobs.QueueDeletions(t.Context(), "prod", ji, jobs.TriggerRetention, "scheduler",
		jobs.Deletion{RecoveryPoint: job.Spec.Backup.RecoveryPoint, GC: true}); err != nil {
		t.Fatal(err)
	}
	del := f.claim(t, "c-shop", f.lastJob(t))
	if del.Kind != agentv1.KindRetentionDelete || del.Spec.Delete.RecoveryPoint != job.Spec.Backup.RecoveryPoint {
		t.Fatalf("deletion %+v", del)
	}
	if rec = f.do(t, "DELETE", "/api/v1/instances/shop", contributor, ""); rec.Code != http.StatusConflict {
		t.Fatalf("delete with a deletion running: %d %s", rec.Code, rec.Body)
	}
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-shop", del.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	if rec = f.do(t, "DELETE", "/api/v1/instances/shop", contributor, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	audit, err := f.st.ListAudit(t.Context(), "prod", store.Page{})
	if err != nil || len(audit.Items) < 4 || audit.Items[0].Operation != "DELETE /api/v1/instances/{name}" || audit.Items[0].Principal != "contributor-user" {
		t.Fatalf("audit %+v %v", audit.Items, err)
	}
}

func (f *fixture) instanceNamed(t *testing.T, name string) store.Instance {
	t.Helper()
	in, err := f.st.GetInstance(t.Context(), "prod", name)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (f *fixture) lastJob(t *testing.T) int64 {
	t.Helper()
	jobs, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{}, store.Page{Limit: 1})
	if err != nil || len(jobs.Items) == 0 {
		t.Fatalf("no job: %v", err)
	}
	return jobs.Items[0].ID
}
