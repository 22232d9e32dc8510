package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/ui"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// fixture is the Backup center and the API over a SQLite store holding vault "prod": one token
// per role, cluster "east" reporting namespaces shop, payments and kube-system, instance "shop"
// protecting namespace shop with one good and one failed backup, and a finished restore dry run.
type fixture struct {
	st        *store.Store
	srv       *httptest.Server
	tokens    map[string]string
	failedJob int64
	dryRunJob int64
	point     string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, func(*api.Config) {})
}

// newFixtureWith is newFixture with the API's configuration changed by tune.
func newFixtureWith(t testing.TB, tune func(*api.Config)) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, t.TempDir(), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must(t, st.EnsureVault(ctx, "prod"))
	f := &fixture{st: st, tokens: map[string]string{}}
	for _, role := range []string{access.RoleReader, access.RoleOperator, access.RoleContributor} {
		secret, err := st.CreateToken(ctx, "prod", store.TokenSpec{Name: role + "-user", Role: role})
		must(t, err)
		f.tokens[role] = secret
	}
	_, _, err = st.RegisterCluster(ctx, "prod", "east")
	must(t, err)
	must(t, st.Heartbeat(ctx, "prod", "east", store.Heartbeat{AgentVersion: "test", KubernetesVersion: "v1.35.4",
		Namespaces: []string{"kube-system", "payments", "shop"}}))
	must(t, st.CreatePolicy(ctx, "prod", policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)}}))
	must(t, st.CreatePolicy(ctx, "prod", policy.Policy{Name: "tiered", Schedule: policy.Schedule{EveryHours: 12},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)},
		Copy:      &policy.CopyTier{Daily: true, Retention: policy.Retention{Default: policy.Duration(365 * 24 * time.Hour)}}}))
	in := jobs.Instance{Name: "shop", Cluster: "east", Backup: agentv1.BackupConfig{IncludeNamespaces: []string{"shop"}},
		Storage: agentv1.StorageLocation{URL: "file:///backups/shop", PassphraseSecret: "repo-passphrase"}}
	_, err = st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: in.Name, Cluster: in.Cluster, Policy: "hourly", Backup: vaultv1.BackupConfig(in.Backup), Storage: vaultv1.StorageLocation(in.Storage)}))
	must(t, err)

	good := f.runJob(t, jobs.BackupJob(in, now.Add(-3*time.Hour), jobs.BackupTrigger{Trigger: "scheduled", By: "scheduler"}), agentv1.Completion{
		State: agentv1.JobSucceeded, Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 12,
			StoredBytes: 3 << 20, Namespaces: []string{"shop"}, Time: now.Add(-3 * time.Hour)}},
		Logs: []agentv1.LogLine{{Time: now, Level: "info", Message: "backed up 12 items"}}})
	f.point = good.Spec.Backup.RecoveryPoint
	failed := f.runJob(t, jobs.BackupJob(in, now.Add(-time.Hour), jobs.BackupTrigger{Trigger: "scheduled", By: "scheduler"}), agentv1.Completion{
		State: agentv1.JobFailed, Error: `open repository: <script>alert("x")</script> no passphrase`,
		Logs: []agentv1.LogLine{{Time: now, Level: "error", Message: "passphrase secret repo-passphrase not found"}}})
	f.failedJob = failed.ID
	dry := f.runJob(t, jobs.NewJob{Kind: agentv1.KindRestore, Cluster: "east", RecoveryPoint: f.point, Trigger: "user", CreatedBy: "operator-user",
		Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{Name: "r1", RecoveryPoint: f.point, SourceCluster: "east",
			Options: agentv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": "shop-copy"}, DryRun: true}}}}, agentv1.Completion{
		State: agentv1.JobSucceeded, Result: &agentv1.JobResult{Restore: &agentv1.RestoreSummary{Name: "r1", Phase: "Completed", DryRun: true, Created: 1,
			Items: []agentv1.RestoreItem{{Resource: "configmaps", Namespace: "shop-copy", Name: "settings", Action: "create", Diff: "+ data:\n+   colour: blue"}}}}})
	f.dryRunJob = dry.ID

	cfg := api.Config{Now: clock, FilesWait: 5 * time.Second}
	tune(&cfg)
	apiHandler := api.NewServer(st, cfg).Handler()
	center, err := ui.New(ui.Config{API: apiHandler, Now: clock, Sessions: vault.Sessions(st)})
	must(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/", center.Handler())
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// instanceSpec is the instance as the API stores it.
func instanceSpec(t testing.TB, spec vaultv1.InstanceSpec) store.InstanceSpec {
	t.Helper()
	cfg, err := json.Marshal(spec.Backup)
	must(t, err)
	storage, err := json.Marshal(spec.Storage)
	must(t, err)
	return store.InstanceSpec{Name: spec.Name, Cluster: spec.Cluster, Policy: spec.Policy, Backup: cfg, Storage: storage}
}

// jobs is the job life cycle over the fixture's store.
func (f *fixture) jobs() *jobs.Lifecycle { return jobs.New(f.st, clock) }

// runJob queues a job on cluster east, claims it and completes it.
func (f *fixture) runJob(t testing.TB, nj jobs.NewJob, c agentv1.Completion) jobs.Job {
	t.Helper()
	ctx := t.Context()
	j, err := f.jobs().Queue(ctx, "prod", nj)
	must(t, err)
	claimed, ok, err := f.jobs().Claim(ctx, "prod", "east", time.Minute)
	if err != nil || !ok || claimed.ID != j.ID {
		t.Fatalf("claim: job %d ok %v err %v, want job %d", claimed.ID, ok, err, j.ID)
	}
	must(t, f.jobs().Complete(ctx, "prod", "east", j.ID, c))
	return j
}

// browser is a cookie-keeping client that does not follow redirects, so tests see them.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
}

func (f *fixture) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	must(t, err)
	return &browser{t: t, base: f.srv.URL, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn is a browser signed in with the role's token.
func (f *fixture) signedIn(t testing.TB, role string) *browser {
	b := f.browser(t)
	res, _ := b.post("/signin", url.Values{"token": {f.tokens[role]}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign in as %s: %d to %q", role, res.StatusCode, res.Header.Get("Location"))
	}
	return b
}

// reply is a response read to its end (and closed).
type reply struct {
	StatusCode int
	Header     http.Header
	cookies    []*http.Cookie
}

func (r *reply) Cookies() []*http.Cookie { return r.cookies }

func (b *browser) get(path string) (*reply, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.base+path, nil)
	must(b.t, err)
	return b.do(req)
}

// post sends a form as the Backup center's own pages do: from its origin.
func (b *browser) post(path string, form url.Values) (*reply, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	must(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*reply, string) {
	b.t.Helper()
	res, err := b.client.Do(req)
	must(b.t, err)
	defer res.Body.Close()
	var sb strings.Builder
	_, err = io.Copy(&sb, res.Body)
	must(b.t, err)
	return &reply{StatusCode: res.StatusCode, Header: res.Header, cookies: res.Cookies()}, sb.String()
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrf reads the session's CSRF token off a page.
func (b *browser) csrf() string {
	b.t.Helper()
	_, body := b.get("/")
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatal("no csrf-token meta on the overview")
	}
	return m[1]
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
