package api

import (
	"encoding/json"
	"errors"
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
	var tok vaultv1.NewToken
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"alice","role":"contributor"}`), http.StatusCreated, &tok)
	alice = tok.Token
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"bob","role":"contributor"}`), http.StatusCreated, &tok)
	f.srv.cfg.RequireApproval = true
	return f, clock, alice, tok.Token
}

// TestNoContributorTokensThroughTheAPIWhenApprovalIsRequired: one contributor cannot make a
// second contributor token and approve their own request with it; tokens of other roles are made
// as usual.
func TestNoContributorTokensThroughTheAPIWhenApprovalIsRequired(t *testing.T) {
	f, _, alice, _ := approvalFixture(t)
	rec := f.do(t, "POST", "/api/v1/tokens", alice, `{"name":"alice-2","role":"contributor"}`)
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(e.Message, "cairn vault issue-token") {
		t.Fatalf("a contributor token with approval required: %d %+v", rec.Code, e)
	}
	tokens, err := f.st.ListTokens(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.Name == "alice-2" {
			t.Error("the refused token exists")
		}
	}
	if rec := f.do(t, "POST", "/api/v1/tokens", alice, `{"name":"ops","role":"operator"}`); rec.Code != http.StatusCreated {
		t.Fatalf("an operator token: %d %s", rec.Code, rec.Body)
	}
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
	if held.State != store.ApprovalPending || held.RequestedBy != "alice" || held.Operation != "POST /api/v1/instances/{name}/stop" ||
		!held.RequestedAt.Equal(clock.now()) || !held.ExpiresAt.Equal(clock.now().Add(DefaultApprovalTTL)) {
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
			strings.HasPrefix(e.Object, "/api/v1/instances/shop/stop") && strings.HasSuffix(e.Object, "(approval request 1, approved by bob)") &&
			e.Role == access.RoleContributor
	}
	if !replayed {
		t.Errorf("the replayed stop is not in the audit log as alice's: %+v", entries.Items)
	}
}

// TestEveryDestructiveRouteIsHeld: each route the gate holds is in the route table for
// contributors, documented with its 202, held without effect (answering the request and where to
// find it) and done once another contributor approves.
func TestEveryDestructiveRouteIsHeld(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	for _, rt := range NewServer(nil, Config{}).routes() {
		routes[rt.method+" "+rt.pattern] = rt.minRole
	}
	for key := range destructive {
		if routes[key] != access.RoleContributor {
			t.Errorf("destructive %s: route table role %q, want contributor", key, routes[key])
			continue
		}
		method, pattern, _ := strings.Cut(key, " ")
		op := lookup(t, doc, "#/paths/"+strings.ReplaceAll(pattern, "/", "~1")+"/"+strings.ToLower(method))
		held, _ := op["responses"].(map[string]any)["202"].(map[string]any)
		if !strings.Contains(mustJSON(held), "#/components/schemas/ApprovalRequest") {
			t.Errorf("destructive %s: openapi.json has no 202 with the ApprovalRequest: %v", key, held)
		}
	}

	f, _, alice, bob := approvalFixture(t)
	f.instance(t, "shop")
	f.instance(t, "idle")
	if rec := f.do(t, "POST", "/api/v1/instances/idle/stop", alice, ""); rec.Code != http.StatusOK {
		t.Fatalf("stop idle: %d %s", rec.Code, rec.Body)
	}
	f.cluster(t, "east")
	point := f.recoveryPoint(t, "kept").Name
	instanceGone := func(t *testing.T) bool {
		_, err := f.st.GetInstance(t.Context(), "prod", "idle")
		return errors.Is(err, store.ErrNotFound)
	}
	cases := []struct {
		key, method, path, body string
		done                    func(t *testing.T) bool
	}{
		{"POST /api/v1/instances/{name}/stop", "POST", "/api/v1/instances/shop/stop", `{"deleteData":true}`, func(t *testing.T) bool {
			in, err := f.st.GetInstance(t.Context(), "prod", "shop")
			return err == nil && in.State == vaultv1.InstanceStoppedDeleting
		}},
		{"DELETE /api/v1/instances/{name}", "DELETE", "/api/v1/instances/idle", "", instanceGone},
		{"POST /api/v1/clusters/{name}/revoke", "POST", "/api/v1/clusters/east/revoke", "", func(t *testing.T) bool {
			c, err := f.st.GetCluster(t.Context(), "prod", "east")
			return err == nil && c.Health == store.HealthRevoked
		}},
		{"DELETE /api/v1/recovery-points/{name}", "DELETE", "/api/v1/recovery-points/" + point, "", func(t *testing.T) bool {
			rp, err := f.st.GetRecoveryPoint(t.Context(), "prod", point)
			return err == nil && rp.SoftDeleted != nil
		}},
	}
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.key] = true
		rec := f.do(t, c.method, c.path, alice, c.body)
		var held vaultv1.ApprovalRequest
		mustDecode(t, rec, http.StatusAccepted, &held)
		if held.Operation != c.key || held.Path != c.path || held.Body != c.body || held.State != store.ApprovalPending ||
			rec.Header().Get(vaultv1.HeaderApprovalRequest) != itoa(held.ID) || rec.Header().Get("Location") != "/api/v1/approvals/"+itoa(held.ID) {
			t.Errorf("%s: held as %+v, headers %v", c.key, held, rec.Header())
			continue
		}
		if c.done(t) {
			t.Errorf("%s: done before its approval", c.key)
		}
		var approved vaultv1.ApprovalRequest
		mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""), http.StatusOK, &approved)
		if approved.State != store.ApprovalApproved || !c.done(t) {
			t.Errorf("%s: approved as %+v, done %v", c.key, approved, c.done(t))
		}
	}
	for key := range destructive {
		if !tested[key] {
			t.Errorf("destructive %s is not tested here", key)
		}
	}
}

// TestApprovalCancelledOrFailedAsTheRequesterIsNow: the requester cancels its own request with
// reject; a request whose requester holds a lower role by the time of the approval fails, and the
// replay's refusal is recorded.
func TestApprovalCancelledOrFailedAsTheRequesterIsNow(t *testing.T) {
	f, _, alice, bob := approvalFixture(t)
	f.cluster(t, "east")
	var held, got vaultv1.ApprovalRequest
	mustDecode(t, f.do(t, "POST", "/api/v1/clusters/east/revoke", alice, ""), http.StatusAccepted, &held)
	mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/reject", alice, ""), http.StatusOK, &got)
	if got.State != store.ApprovalCancelled || got.DecidedBy != "alice" {
		t.Errorf("cancelled by its requester: %+v", got)
	}
	if rec := f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""); rec.Code != http.StatusConflict {
		t.Errorf("a cancelled request approved: %d %s", rec.Code, rec.Body)
	}

	mustDecode(t, f.do(t, "POST", "/api/v1/clusters/east/revoke", alice, ""), http.StatusAccepted, &held)
	if err := f.st.RevokeToken(t.Context(), "prod", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: "alice", Role: access.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""), http.StatusOK, &got)
	if got.State != store.ApprovalFailed || got.ResultStatus != http.StatusForbidden || !strings.Contains(got.ResultMessage, "alice has the operator role now") {
		t.Errorf("approved with the requester lowered to operator: %+v", got)
	}
	if c, err := f.st.GetCluster(t.Context(), "prod", "east"); err != nil || c.Health == store.HealthRevoked {
		t.Errorf("the cluster: %+v %v", c, err)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// TestApprovalComparesPersons: a person signed in twice with single sign-on (two tokens, one per
// sign-in) cannot approve its own request from the other sign-in; once the first sign-in has
// ended, another contributor's approval replays the request with the person's current token.
func TestApprovalComparesPersons(t *testing.T) {
	f, clock, _, bob := approvalFixture(t)
	f.cluster(t, "east")
	signIn := func(name string) string {
		t.Helper()
		secret, err := f.st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: name, Role: access.RoleContributor, Kind: store.TokenKindSSO,
			ExpiresAt: clock.now().Add(12 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	laptop := signIn("oidc:carol@example.com:k3v9x2aq")
	var held, got vaultv1.ApprovalRequest
	mustDecode(t, f.do(t, "POST", "/api/v1/clusters/east/revoke", laptop, ""), http.StatusAccepted, &held)
	clock.add(time.Minute)
	browser := signIn("oidc:carol@example.com:zz8m1c0d")
	rec := f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", browser, "")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(e.Message, "another contributor must approve it") {
		t.Fatalf("approved from the requester's second sign-in: %d %+v", rec.Code, e)
	}
	if err := f.st.RevokeToken(t.Context(), "prod", "oidc:carol@example.com:k3v9x2aq"); err != nil { // signed out
		t.Fatal(err)
	}
	mustDecode(t, f.do(t, "POST", "/api/v1/approvals/"+itoa(held.ID)+"/approve", bob, ""), http.StatusOK, &got)
	if got.State != store.ApprovalApproved || got.RequestedBy != "oidc:carol@example.com:k3v9x2aq" {
		t.Errorf("approved by bob: %+v", got)
	}
	if c, err := f.st.GetCluster(t.Context(), "prod", "east"); err != nil || c.Health != store.HealthRevoked {
		t.Errorf("the cluster: %+v %v", c, err)
	}
}
