package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// copied is a recovery point whose claim shop/data has a copy, and the agent token of its cluster.
type copied struct {
	rp      store.RecoveryPoint
	cluster string
	token   string
}

// copiedRecoveryPoint makes an instance name on cluster c-<name> and a recovery point of it whose
// claim shop/data has a copy and shop/db a snapshot only.
func (f *fixture) copiedRecoveryPoint(t *testing.T, name string) copied {
	t.Helper()
	c := copied{cluster: "c-" + name}
	c.token = f.cluster(t, c.cluster)
	f.createPolicy(t, "prod", "p-"+name)
	spec, err := storeInstanceSpec(instanceSpec(name))
	if err != nil {
		t.Fatal(err)
	}
	si, err := f.st.CreateInstance(t.Context(), "prod", spec)
	if err != nil {
		t.Fatal(err)
	}
	in, err := jobsInstance(si)
	if err != nil {
		t.Fatal(err)
	}
	job, err := f.srv.jobs.Queue(t.Context(), "prod", jobs.BackupJob(in, fixedClock(), jobs.BackupTrigger{Trigger: "on-demand", By: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	f.claim(t, c.cluster, job.ID)
	if err := f.srv.jobs.Complete(t.Context(), "prod", c.cluster, job.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Time: fixedClock(), VolumesCopied: 1, Volumes: 1,
			VolumeTiers: []agentv1.VolumeTiers{{Namespace: "shop", Claim: "data", Copy: true}, {Namespace: "shop", Claim: "db", Snapshot: true}}}}}); err != nil {
		t.Fatal(err)
	}
	if c.rp, err = f.st.GetRecoveryPoint(t.Context(), "prod", job.Spec.Backup.RecoveryPoint); err != nil {
		t.Fatal(err)
	}
	return c
}

// fileContent is what the fake agent's fetch jobs upload.
const fileContent = "order 42 shipped\n"

// serveFiles runs a fake agent of c's cluster until it served n browse or fetch jobs or the wait
// ran out or the test ended: it claims them through the life cycle, uploads a fetch job's file on the agent route
// and completes the job. It returns a wait for it.
func (f *fixture) serveFiles(t *testing.T, c copied, n int, within time.Duration) func() {
	var wg sync.WaitGroup
	wg.Go(func() {
		deadline := time.Now().Add(within)
		for n > 0 && time.Now().Before(deadline) && t.Context().Err() == nil {
			job, ok, err := f.srv.jobs.Claim(t.Context(), "prod", c.cluster, testLease, agentv1.KindBrowse, agentv1.KindFetch)
			if err != nil || !ok {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			n--
			res := &agentv1.JobResult{}
			if s := job.Spec.Browse; s != nil {
				res.Browse = &agentv1.BrowseResult{Path: strings.Trim(s.Path, "/"), Total: 2, Entries: []agentv1.FileEntry{
					{Name: "orders.log", Type: "file", Size: int64(len(fileContent)), Mode: 0o640, MTime: fixedClock()}, {Name: "sub", Type: "dir", Mode: 0o755}}}
			} else {
				req := newRequest(t, "PUT", fmt.Sprintf("/api/v1/agent/jobs/%d/content", job.ID), c.token, fileContent)
				if rec := f.serve(req); rec.Code != http.StatusNoContent {
					t.Errorf("upload: %d %s", rec.Code, rec.Body)
				}
				res.Fetch = &agentv1.FetchResult{Path: job.Spec.Fetch.Path, Size: int64(len(fileContent))}
			}
			if err := f.srv.jobs.Complete(t.Context(), "prod", c.cluster, job.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: res}); err != nil {
				t.Errorf("complete: %v", err)
			}
		}
	})
	t.Cleanup(wg.Wait)
	return wg.Wait
}

// principalOf is the name of the fixture's token secret.
func (f *fixture) principalOf(token string) string {
	for role, secret := range f.tokens {
		if secret == token {
			return role + "-user"
		}
	}
	return "someone"
}

// fetched queues a fetch job of c's claim shop/data for by, runs it on its agent (the file
// uploaded) and returns it.
func (f *fixture) fetched(t *testing.T, c copied, by string) jobs.Job {
	t.Helper()
	in, err := f.st.GetInstance(t.Context(), "prod", c.rp.Instance)
	if err != nil {
		t.Fatal(err)
	}
	ji, err := jobsInstance(in)
	if err != nil {
		t.Fatal(err)
	}
	nj, err := jobs.VolumeFilesJob(jobs.KindFetch, ji, c.rp.Name, c.cluster, "shop", "data", "/db/orders.log", by)
	if err != nil {
		t.Fatal(err)
	}
	job, err := f.srv.jobs.Queue(t.Context(), "prod", nj)
	if err != nil {
		t.Fatal(err)
	}
	f.serveFiles(t, c, 1, 5*time.Second)()
	return f.job(t, job.ID)
}

func countJobs(t *testing.T, f *fixture, kind, rp string) int {
	t.Helper()
	list, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: kind, RecoveryPoint: rp}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

var filesMatrixCalls = map[string]matrixCall{
	"POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		c := f.copiedRecoveryPoint(t, "br-"+u)
		f.serveFiles(t, c, 1, 3*time.Second)
		return newRequest(t, "POST", "/api/v1/recovery-points/"+c.rp.Name+"/volumes/shop/data/browse", token, `{"path":"/db"}`), func(t *testing.T, allowed bool) {
			if n := countJobs(t, f, agentv1.KindBrowse, c.rp.Name); allowed != (n == 1) {
				t.Errorf("allowed %v, %d browse jobs", allowed, n)
			}
		}
	},
	"POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/fetch": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		c := f.copiedRecoveryPoint(t, "fe-"+u)
		f.serveFiles(t, c, 1, 3*time.Second)
		return newRequest(t, "POST", "/api/v1/recovery-points/"+c.rp.Name+"/volumes/shop/data/fetch", token, `{"path":"/db/orders.log"}`), func(t *testing.T, allowed bool) {
			if n := countJobs(t, f, agentv1.KindFetch, c.rp.Name); allowed != (n == 1) {
				t.Errorf("allowed %v, %d fetch jobs", allowed, n)
			}
		}
	},
	"GET /api/v1/jobs/{id}/content": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		job := f.fetched(t, f.copiedRecoveryPoint(t, "co-"+u), f.principalOf(token))
		return newRequest(t, "GET", jobPath(job.ID, "/content"), token, ""), nil
	},
	"PUT /api/v1/agent/jobs/{id}/content": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		ji := jobs.Instance{Name: "", Cluster: agentCluster}
		nj, err := jobs.VolumeFilesJob(jobs.KindFetch, ji, "rp", agentCluster, "shop", "data", "f", "test")
		if err != nil {
			t.Fatal(err)
		}
		job, err := f.srv.jobs.Queue(t.Context(), "prod", nj)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok, err := f.srv.jobs.Claim(t.Context(), "prod", agentCluster, testLease, agentv1.KindFetch); err != nil || !ok || got.ID != job.ID {
			t.Fatalf("claim: %d %v %v", got.ID, ok, err)
		}
		req := newRequest(t, "PUT", jobPath(job.ID, "/content"), token, "data")
		req.URL.Path = "/api/v1/agent" + req.URL.Path[len("/api/v1"):]
		return req, nil
	},
}

func TestBrowseFetchAndDownload(t *testing.T) {
	f := newFixture(t)
	c := f.copiedRecoveryPoint(t, "shop")
	operator, contributor, reader := f.tokens[access.RoleOperator], f.tokens[access.RoleContributor], f.tokens[access.RoleReader]
	base := "/api/v1/recovery-points/" + c.rp.Name + "/volumes/shop/"

	f.serveFiles(t, c, 1, 5*time.Second)
	rec := f.do(t, "POST", base+"data/browse", operator, `{"path":"db"}`)
	var job vaultv1.Job
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &job) != nil || job.Result == nil || job.Result.Browse == nil ||
		len(job.Result.Browse.Entries) != 2 || job.Spec.Browse == nil || job.Spec.Browse.Path != "db" || job.CreatedBy != "operator-user" {
		t.Fatalf("browse: %d %s", rec.Code, rec.Body)
	}
	for path, want := range map[string]int{
		base + "db/browse":   http.StatusUnprocessableEntity, // a snapshot only
		base + "nope/browse": http.StatusNotFound,
		"/api/v1/recovery-points/gone/volumes/shop/data/browse": http.StatusNotFound,
	} {
		if rec := f.do(t, "POST", path, operator, `{"path":""}`); rec.Code != want {
			t.Errorf("%s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
	if rec := f.do(t, "POST", base+"data/fetch", operator, `{"path":"/"}`); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("fetch of the root: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", base+"data/browse", reader, `{"path":""}`); rec.Code != http.StatusForbidden {
		t.Errorf("a reader browses: %d %s", rec.Code, rec.Body)
	}

	f.serveFiles(t, c, 1, 5*time.Second)
	rec = f.do(t, "POST", base+"data/fetch", operator, `{"path":"/db/orders.log"}`)
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &job) != nil || job.State != vaultv1.JobSucceeded || job.Result.Fetch == nil {
		t.Fatalf("fetch: %d %s", rec.Code, rec.Body)
	}
	content := jobPath(job.ID, "/content")
	if rec := f.do(t, "GET", content, contributor, ""); rec.Code != http.StatusForbidden {
		t.Errorf("another principal downloads: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, "GET", content, operator, "")
	if rec.Code != http.StatusOK || rec.Body.String() != fileContent || rec.Header().Get("Content-Type") != "application/octet-stream" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename=orders.log` {
		t.Fatalf("download: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if rec := f.do(t, "GET", content, operator, ""); rec.Code != http.StatusGone {
		t.Errorf("second download: %d %s", rec.Code, rec.Body)
	}
	if _, err := f.st.FetchedPart(t.Context(), "prod", job.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("content left after the download: %v", err)
	}
	if rec := f.do(t, "GET", jobPath(f.agentJob(t).ID, "/content"), operator, ""); rec.Code != http.StatusNotFound {
		t.Errorf("content of a verify job: %d", rec.Code)
	}

	audit, err := f.st.ListAudit(t.Context(), "prod", store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit.Items {
		seen[fmt.Sprintf("%s %s %d", e.Principal, e.Operation, e.Status)] = true
	}
	for _, want := range []string{
		"operator-user POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse 200",
		"reader-user POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse 403",
		"operator-user POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/fetch 200",
		"operator-user GET /api/v1/jobs/{id}/content 200",
		"operator-user GET /api/v1/jobs/{id}/content 410",
		"contributor-user GET /api/v1/jobs/{id}/content 403",
		"c-shop PUT /api/v1/agent/jobs/{id}/content 204",
	} {
		if !seen[want] {
			t.Errorf("no audit entry %q in %v", want, seen)
		}
	}
}

func TestContentCapAndExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.copiedRecoveryPoint(t, "shop")
	job := f.fetched(t, c, "operator-user")
	if job.State != jobs.Succeeded {
		t.Fatalf("fetch job: %+v", job)
	}

	// A second server on the fixture's store, with a clock that moves.
	now := fixedClock()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := NewServer(f.st, Config{Now: clock, Lease: testLease})
	h := srv.Handler()
	serve := func(req *http.Request) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	if code := serve(newRequest(t, "GET", jobPath(job.ID, "/content"), f.tokens[access.RoleOperator], "")); code != http.StatusGone {
		t.Errorf("content after its TTL: %d, want 410", code)
	}

	// Uploads over the limit: declared, or streamed without a length.
	nj, err := jobs.VolumeFilesJob(jobs.KindFetch, jobs.Instance{Cluster: c.cluster}, c.rp.Name, c.cluster, "shop", "data", "big", "operator-user")
	if err != nil {
		t.Fatal(err)
	}
	big, err := srv.jobs.Queue(t.Context(), "prod", nj)
	if err != nil {
		t.Fatal(err)
	}
	f.claim(t, c.cluster, big.ID)
	req := newRequest(t, "PUT", fmt.Sprintf("/api/v1/agent/jobs/%d/content", big.ID), c.token, "x")
	req.ContentLength = agentv1.MaxFetchBytes + 1
	if code := serve(req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared over the limit: %d", code)
	}
	req = newRequest(t, "PUT", fmt.Sprintf("/api/v1/agent/jobs/%d/content", big.ID), c.token, "")
	req.Body, req.ContentLength = io.NopCloser(io.LimitReader(zeroReader{}, agentv1.MaxFetchBytes+1)), -1
	if code := serve(req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed over the limit: %d", code)
	}
	for _, id := range []int64{job.ID, big.ID} {
		if _, err := f.st.FetchedPart(t.Context(), "prod", id, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("content of job %d left in the database: %v", id, err)
		}
	}
	// Another cluster's agent may not upload the job's file.
	if rec := f.do(t, "PUT", fmt.Sprintf("/api/v1/agent/jobs/%d/content", big.ID), f.agentToken, "x"); rec.Code != http.StatusNotFound {
		t.Errorf("another cluster's upload: %d", rec.Code)
	}
}

func TestBrowseNobodyTakesIsCancelled(t *testing.T) {
	f := newFixture(t)
	c := f.copiedRecoveryPoint(t, "shop")
	srv := NewServer(f.st, Config{Now: fixedClock, FilesWait: 100 * time.Millisecond})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, newRequest(t, "POST", "/api/v1/recovery-points/"+c.rp.Name+"/volumes/shop/data/browse", f.tokens[access.RoleOperator], `{"path":""}`))
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusServiceUnavailable || e.Code != "agent_unavailable" || !strings.Contains(e.Message, "was cancelled") {
		t.Fatalf("%d %+v", rec.Code, e)
	}
	list, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: agentv1.KindBrowse}, store.Page{})
	if err != nil || len(list.Items) != 1 || list.Items[0].State != jobs.Cancelled {
		t.Fatalf("browse jobs: %+v %v", list.Items, err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
