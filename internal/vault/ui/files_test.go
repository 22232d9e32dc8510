package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
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

const ordersLog = "order 42 shipped\n"

// copiedPoint makes cluster west with instance data and a recovery point whose claim shop/data
// has a copy, and serves its browse and fetch jobs as the agent would until the test ends.
func (f *fixture) copiedPoint(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	_, token, err := f.st.RegisterCluster(ctx, "prod", "west")
	must(t, err)
	must(t, f.st.Heartbeat(ctx, "prod", "west", store.Heartbeat{AgentVersion: "test", KubernetesVersion: "v1.35.4"}))
	in := jobs.Instance{Name: "data", Cluster: "west", Storage: agentv1.StorageLocation{URL: "file:///backups/data", PassphraseSecret: "repo-passphrase"}}
	_, err = f.st.CreateInstance(ctx, "prod", instanceSpec(t, vaultv1.InstanceSpec{Name: in.Name, Cluster: in.Cluster, Policy: "hourly", Storage: vaultv1.StorageLocation(in.Storage)}))
	must(t, err)
	j, err := f.jobs().Queue(ctx, "prod", jobs.BackupJob(in, now.Add(-time.Hour), jobs.BackupTrigger{Trigger: "scheduled", By: "scheduler"}))
	must(t, err)
	if _, ok, err := f.jobs().Claim(ctx, "prod", "west", time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	must(t, f.jobs().Complete(ctx, "prod", "west", j.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: &agentv1.JobResult{
		RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Time: now.Add(-time.Hour), Volumes: 1, VolumesCopied: 1,
			VolumeTiers: []agentv1.VolumeTiers{{Namespace: "shop", Claim: "data", Copy: true, Bytes: 1 << 20}}}}}))
	var wg sync.WaitGroup
	wg.Go(func() {
		for t.Context().Err() == nil {
			job, ok, err := f.jobs().Claim(ctx, "prod", "west", time.Minute, agentv1.KindBrowse, agentv1.KindFetch)
			if err != nil || !ok {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			res := &agentv1.JobResult{}
			if s := job.Spec.Browse; s != nil {
				res.Browse = &agentv1.BrowseResult{Path: strings.Trim(s.Path, "/"), Total: 2, Entries: []agentv1.FileEntry{
					{Name: "orders.log", Type: "file", Size: int64(len(ordersLog)), Mode: 0o640, MTime: now}, {Name: "2026", Type: "dir", Mode: 0o755, MTime: now}}}
			} else {
				req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/agent/jobs/%d/content", f.srv.URL, job.ID), strings.NewReader(ordersLog))
				req.Header.Set("Authorization", "Bearer "+token)
				if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
					t.Errorf("upload: %v %v", res, err)
				} else {
					res.Body.Close()
				}
				res.Fetch = &agentv1.FetchResult{Path: job.Spec.Fetch.Path, Size: int64(len(ordersLog))}
			}
			if err := f.jobs().Complete(ctx, "prod", "west", job.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: res}); err != nil {
				t.Errorf("complete: %v", err)
			}
		}
	})
	t.Cleanup(wg.Wait)
	return j.Spec.Backup.RecoveryPoint
}

func TestBrowseFilesAndDownloadOne(t *testing.T) {
	f := newFixture(t)
	point := f.copiedPoint(t)
	b := f.signedIn(t, access.RoleOperator)
	files := "/recovery-points/" + point + "/files/shop/data"
	if _, body := b.get("/recovery-points/" + point); !strings.Contains(body, `href="`+files+`"`) {
		t.Fatalf("no Browse files link on the recovery point's page:\n%s", body)
	}
	res, body := b.get(files + "?path=db")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "orders.log") || !strings.Contains(body, `href="`+files+`?path=db%2F2026"`) ||
		!strings.Contains(body, `-rw-r-----`) || !strings.Contains(body, `name="path" value="/db/orders.log"`) || !strings.Contains(body, `<a href="`+files+`?path=db">db</a>`) {
		t.Fatalf("browse db: %d\n%s", res.StatusCode, body)
	}
	res, _ = b.post(files+"/fetch", url.Values{"csrf": {b.csrf()}, "path": {"/db/orders.log"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/content") {
		t.Fatalf("download: %d to %q", res.StatusCode, loc)
	}
	res, body = b.get(loc)
	if res.StatusCode != http.StatusOK || body != ordersLog || res.Header.Get("Content-Disposition") != "attachment; filename=orders.log" {
		t.Fatalf("content: %d %v %q", res.StatusCode, res.Header, body)
	}
	if res, _ := b.get(loc); res.StatusCode != http.StatusGone {
		t.Errorf("second download: %d", res.StatusCode)
	}

	r := f.signedIn(t, access.RoleReader)
	if _, body := r.get("/recovery-points/" + point); strings.Contains(body, "Browse files") {
		t.Error("a reader sees Browse files")
	}
	if res, body := r.get(files); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "needs the operator role") {
		t.Errorf("a reader browses: %d\n%s", res.StatusCode, body)
	}
}
