package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestOperatorValidatesAnInstance: the Validate action queues a validation and shows its job; once
// the agent reports, the instance page shows each check, failed ones marked.
func TestOperatorValidatesAnInstance(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	if _, body := b.get("/instances/shop"); !strings.Contains(body, `data-action="validate"`) || !strings.Contains(body, `<dd id="validation">none yet</dd>`) {
		t.Fatalf("instance page before any validation:\n%s", body)
	}
	res, _ := b.post("/instances/shop/validate", url.Values{"csrf": {b.csrf()}})
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/jobs/%d", &id); res.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("validate: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	j, ok, err := f.jobs().Claim(t.Context(), "prod", "east", time.Minute, agentv1.KindValidate)
	must(t, err)
	if !ok || j.ID != id {
		t.Fatalf("claimed %d %v, want the validation %d", j.ID, ok, id)
	}
	must(t, f.jobs().Complete(t.Context(), "prod", "east", id, agentv1.Completion{State: agentv1.JobFailed, Error: "1 check failed",
		Result: &agentv1.JobResult{Checks: []agentv1.Check{{Name: "agent", OK: true, Message: "agent v1"},
			{Name: "secret", Message: `secret not found: "repo-pass"`}}}}))
	_, body := b.get("/instances/shop")
	if !strings.Contains(body, `state-failed`) || !strings.Contains(body, `<li data-check="secret" class="failed"><strong>FAIL</strong> <code>secret</code>: secret not found: &#34;repo-pass&#34;</li>`) ||
		!strings.Contains(body, `<li data-check="agent">ok <code>agent</code>: agent v1</li>`) {
		t.Fatalf("instance page after the validation:\n%s", body)
	}
}

// TestOperatorTestRestoresAnInstance: the Test restore action queues a test restore of the newest
// good point and shows its job; once it passed, the instance page says so with its duration.
func TestOperatorTestRestoresAnInstance(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	if _, body := b.get("/instances/shop"); !strings.Contains(body, `data-action="test-restore"`) || !strings.Contains(body, `<dd id="test-restore">none yet</dd>`) {
		t.Fatalf("instance page before any test restore:\n%s", body)
	}
	res, _ := b.post("/instances/shop/test-restore", url.Values{"csrf": {b.csrf()}})
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/jobs/%d", &id); res.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("test restore: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	j, ok, err := f.jobs().Claim(t.Context(), "prod", "east", time.Minute, agentv1.KindTestRestore)
	must(t, err)
	if !ok || j.ID != id || j.RecoveryPoint != f.point || j.Spec.TestRestore == nil {
		t.Fatalf("claimed %+v %v, want the test restore %d of %s", j, ok, id, f.point)
	}
	clock := func() time.Time { return j.StartedAt.Add(84 * time.Second) }
	must(t, jobs.New(f.st, clock).Complete(t.Context(), "prod", "east", id, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{Checks: []agentv1.Check{{Name: "pods-ready", OK: true, Message: "1 pod(s) ready"}}}}))
	_, body := b.get("/instances/shop")
	if !strings.Contains(body, "state-passed") || !strings.Contains(body, "in 1m24s") || !strings.Contains(body, `<li data-check="pods-ready">ok`) {
		t.Fatalf("instance page after the test restore:\n%s", body)
	}
}
