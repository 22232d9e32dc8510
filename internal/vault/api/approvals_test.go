package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// approvalFixture is a vault requiring approval with two contributors, alice and bob, on a clock
// the test moves.
func approvalFixture(t *testing.T) (f *fixture, clock *movingClock, alice, bob string) {
	t.Helper()
	f, clock, admin := tokenFixture(t)
	f.srv.cfg.RequireApproval = true
	var tok vaultv1.NewToken
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"alice","role":"contributor"}`), http.StatusCreated, &tok)
	alice = tok.Token
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"bob","role":"contributor"}`), http.StatusCreated, &tok)
	return f, clock, alice, tok.Token
}

// TestDestructiveCallsWaitForASecondContributor: with approval required, stopping an instance
// with its data is held (stopping it without is not); its requester cannot approve it; another
// contributor's approval replays it as the requester; a rejected or expired request does
// nothing; a request whose requester lost its token fails when approved.
func TestDestructiveCallsWaitForASecondContributor(t *testing.T) {
	f, clock, alice, bob := approvalFixture(t)
	for _, name := range []string{"shop", "web", "db"} {
		f.instance(t, name)
	}
	if rec := f.do(t, "POST", "/api/v1/instances/web/stop", alice, ""); rec.Code != http.StatusOK {
		t.Fatalf("a plain stop is not destructive: %d %s", rec.Code, rec.Body)
	}
	rec := f.do(t, "POST", "/api/v1/instances/shop/stop", alice, `{"deleteData":true}`)
	var held vaultv1.ApprovalRequest
	if rec.Header().Get(vaultv1.HeaderApprovalRequest) == "" {
		t.Fatalf("stop with its data: %d %s, want held", rec.Code, rec.Body)
	}
	mustDecode(t, rec, http.StatusAccepted, &held)
	if held.State != store.ApprovalPending || held.RequestedBy != "alice" || held.Operation != "POST /api/v1/instances/{name}/stop" {
		t.Fatalf("held %+v", held)
	}
	if in, _ := f.st.GetInstance(t.Context(), "prod", "shop"); in.State != store.InstanceProtected {
		t.Fatalf("the held stop ran: %s", in.State)
	}
	path := "/api/v1/approvals/" + itoa(held.ID)
	rec = f.do(t, "POST", path+"/approve", alice, "")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(e.Message, "was made by alice: another contributor must approve it") {
		t.Fatalf("self-approval: %d %+v", rec.Code, e)
	}
	var done vaultv1.ApprovalRequest
	mustDecode(t, f.do(t, "POST", path+"/approve", bob, ""), http.StatusOK, &done)
	if done.State != store.ApprovalApproved || done.DecidedBy != "bob" || done.ResultStatus != http.StatusOK {
		t.Fatalf("approved %+v", done)
	}
	if in, _ := f.st.GetInstance(t.Context(), "prod", "shop"); in.State != vaultv1.InstanceStoppedDeleting {
		t.Fatalf("the approved stop did not run: %s", in.State)
	}
	if rec := f.do(t, "POST", path+"/approve", bob, ""); rec.Code != http.StatusConflict {
		t.Errorf("approved twice: %d", rec.Code)
	}

	// Rejected, then expired: nothing happens.
	mustDecode(t, f.do(t, "POST", "/api/v1/instances/db/stop", alice, `{"deleteData":true}`), http.StatusAccepted, &held)
	mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/reject", bob, ""), http.StatusOK, &done)
	if done.State != store.ApprovalRejected {
		t.Errorf("rejected %+v", done)
	}
	mustDecode(t, f.do(t, "POST", "/api/v1/instances/db/stop", alice, `{"deleteData":true}`), http.StatusAccepted, &held)
	clock.add(25 * time.Hour)
	if rec := f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""); rec.Code != http.StatusConflict ||
		!strings.Contains(rec.Body.String(), "is expired") {
		t.Errorf("an expired request approved: %d %s", rec.Code, rec.Body)
	}
	if in, _ := f.st.GetInstance(t.Context(), "prod", "db"); in.State != store.InstanceProtected {
		t.Fatalf("a rejected or expired stop ran: %s", in.State)
	}

	// The requester's token revoked meanwhile: the approval replays nothing.
	mustDecode(t, f.do(t, "POST", "/api/v1/instances/db/stop", alice, `{"deleteData":true}`), http.StatusAccepted, &held)
	if err := f.st.RevokeToken(t.Context(), "prod", "alice"); err != nil {
		t.Fatal(err)
	}
	mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""), http.StatusOK, &done)
	if done.State != store.ApprovalFailed || !strings.Contains(done.ResultMessage, "no working token") {
		t.Errorf("approved with the requester's token revoked: %+v", done)
	}
	var pending vaultv1.List[vaultv1.ApprovalRequest]
	mustDecode(t, f.do(t, "GET", "/api/v1/approvals?state=pending", bob, ""), http.StatusOK, &pending)
	if len(pending.Items) != 0 {
		t.Errorf("pending %+v", pending.Items)
	}
	entries, _ := f.st.ListAudit(t.Context(), "prod", store.Page{})
	var replayed bool
	for _, e := range entries.Items {
		replayed = replayed || e.Operation == "POST /api/v1/instances/{name}/stop" && e.Principal == "alice" && e.Status == http.StatusOK &&
			strings.HasPrefix(e.Object, "/api/v1/instances/shop/stop") && e.Role == access.RoleContributor
	}
	if !replayed {
		t.Errorf("the replayed stop is not in the audit log as alice's: %+v", entries.Items)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
