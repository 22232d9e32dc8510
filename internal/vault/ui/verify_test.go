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
)

// TestOperatorVerifiesARecoveryPoint: the recovery point page offers an operator a Verify form;
// sending it queues a verify job at the level chosen and opens the job; the page then shows the
// outcome of the point's newest verification.
func TestOperatorVerifiesARecoveryPoint(t *testing.T) {
	f := newFixture(t)
	b := f.signedIn(t, access.RoleOperator)
	page := "/recovery-points/" + f.point
	_, body := b.get(page)
	for _, w := range []string{`action="/recovery-points/` + f.point + `/verify"`, `name="csrf" value="` + b.csrf() + `"`,
		`<option value="structure">`, `data-action="verify"`, `<dd id="verification">never</dd>`} {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q:\n%s", w, body)
		}
	}

	res, _ := b.post(page+"/verify", url.Values{"csrf": {b.csrf()}, "level": {"structure"}})
	var id int64
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", res.StatusCode)
	}
	if _, err := fmt.Sscanf(res.Header.Get("Location"), "/jobs/%d", &id); err != nil {
		t.Fatalf("verify went to %q: %v", res.Header.Get("Location"), err)
	}
	j, err := f.jobs().Get(t.Context(), "prod", id)
	must(t, err)
	if j.Kind != agentv1.KindVerify || j.Spec.Verify == nil || j.Spec.Verify.Level != agentv1.VerifyStructure || j.RecoveryPoint != f.point ||
		j.CreatedBy != "operator-user" {
		t.Fatalf("the verify job %+v (spec %+v)", j, j.Spec.Verify)
	}
	if _, body := b.get(page); !strings.Contains(body, `structure: <span class="state state-queued">queued</span>`) {
		t.Errorf("a queued verification is not shown:\n%s", body)
	}
	if res, body := b.post(page+"/verify", url.Values{"csrf": {b.csrf()}}); res.StatusCode != http.StatusConflict || !strings.Contains(body, "is being verified") {
		t.Errorf("a second verification: %d\n%s", res.StatusCode, body)
	}

	claimed, ok, err := f.jobs().Claim(t.Context(), "prod", "east", time.Minute)
	if err != nil || !ok || claimed.ID != id {
		t.Fatalf("claim: %+v %v %v", claimed, ok, err)
	}
	must(t, f.jobs().Complete(t.Context(), "prod", "east", id, agentv1.Completion{State: agentv1.JobFailed, Error: "damaged",
		Result: &agentv1.JobResult{Errors: []string{"backups/x/packs/1 <holds> 10 bytes"}, Verify: &agentv1.VerifyResult{Level: agentv1.VerifyStructure, Problems: 1}}}))
	_, body = b.get(page)
	for _, w := range []string{`structure: <span class="state state-failed">failed</span>`, fmt.Sprintf(`<a href="/jobs/%d">job #%d</a>`, id, id),
		"1 problem, the first: backups/x/packs/1 &lt;holds&gt; 10 bytes"} {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q:\n%s", w, body)
		}
	}

	_, body = b.get(fmt.Sprintf("/jobs/%d", id))
	if want := `<dd id="verify-spec"><a href="/recovery-points/` + f.point + `">` + f.point + `</a>, structure: 0 files, 0 sections; 1 problem</dd>`; !strings.Contains(body, want) {
		t.Errorf("the job page lacks %q:\n%s", want, body)
	}

	reader := f.signedIn(t, access.RoleReader)
	if res, body := reader.post(page+"/verify", url.Values{"csrf": {reader.csrf()}}); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "needs the operator role") {
		t.Errorf("a reader verified: %d\n%s", res.StatusCode, body)
	}
}
