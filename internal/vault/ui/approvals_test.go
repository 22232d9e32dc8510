package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestApprovalsPage: on a vault requiring approval, a contributor's Delete of a recovery point
// lands on the Approvals page saying it waits; the requester sees only Cancel, another
// contributor approves it and the point is deleted.
func TestApprovalsPage(t *testing.T) {
	f := newFixtureWith(t, func(c *api.Config) { c.RequireApproval = true })
	secret, err := f.st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: "bob", Role: access.RoleContributor})
	must(t, err)
	alice := f.signedIn(t, access.RoleContributor)
	res, _ := alice.post("/recovery-points/"+f.point+"/delete", url.Values{"csrf": {alice.csrf()}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/approvals?held=1" {
		t.Fatalf("delete: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := alice.get("/approvals?held=1")
	if !strings.Contains(body, "Waiting for approval (request 1)") || !strings.Contains(body, `data-approval="1"`) || strings.Contains(body, `data-action="approve"`) ||
		!strings.Contains(body, ">Cancel<") {
		t.Fatalf("the requester's page:\n%s", body)
	}
	if _, body := alice.get("/approvals?held=%3Cb%3E"); strings.Contains(body, `id="held"`) {
		t.Errorf("a held request that is no number is shown:\n%s", body)
	}
	bob := f.browser(t)
	if res, _ := bob.post("/signin", url.Values{"token": {secret}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob signs in: %d", res.StatusCode)
	}
	if _, body := bob.get("/approvals"); !strings.Contains(body, `data-action="approve"`) {
		t.Fatalf("bob's page:\n%s", body)
	}
	if res, _ := bob.post("/approvals/1/approve", url.Values{"csrf": {bob.csrf()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.StatusCode)
	}
	rp, err := f.st.GetRecoveryPoint(t.Context(), "prod", f.point)
	if err != nil || rp.SoftDeleted == nil {
		t.Fatalf("the approved delete: %+v %v", rp.SoftDeleted, err)
	}
	if _, body := bob.get("/approvals"); !strings.Contains(body, `id="decided-approvals"`) || !strings.Contains(body, "approved") {
		t.Errorf("decided:\n%s", body)
	}
}
