package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// matrixCall builds a valid request for one route (so allowed callers succeed) and returns a
// check of the state afterwards, told whether the call was allowed.
type matrixCall func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(t *testing.T, allowed bool))

// matrixCalls has one entry per route of the table, keyed "METHOD pattern".
var matrixCalls = map[string]matrixCall{
	"GET /api/v1/openapi.json": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/openapi.json", token, ""), nil
	},
	"GET /api/v1/whoami": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/whoami", token, ""), nil
	},
	"GET /api/v1/sso": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/sso", token, ""), nil
	},
	"POST /api/v1/sso/token": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		before, err := f.st.CountTokens(t.Context(), "prod")
		if err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "POST", "/api/v1/sso/token", token, ssoTokenBody(t, f.idp.idToken(t, nil), "")), func(t *testing.T, allowed bool) {
			after, err := f.st.CountTokens(t.Context(), "prod")
			if err != nil || allowed != (after == before+1) {
				t.Errorf("allowed %v, tokens %d → %d (%v)", allowed, before, after, err)
			}
		}
	},
	"POST /api/v1/sso/revoke": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "oidc:matrix:" + unique
		secret, err := f.st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: name, Role: access.RoleReader, Kind: store.TokenKindSSO})
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"token":%q}`, secret)
		return newRequest(t, "POST", "/api/v1/sso/revoke", token, body), func(t *testing.T, allowed bool) {
			if kept := tokenNames(t, f)[name]; allowed == kept {
				t.Errorf("allowed %v, token kept %v", allowed, kept)
			}
		}
	},
	"GET /api/v1/policies": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/policies", token, ""), nil
	},
	"GET /api/v1/policies/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		f.createPolicy(t, "prod", "get-"+unique)
		return newRequest(t, "GET", "/api/v1/policies/get-"+unique, token, ""), nil
	},
	"POST /api/v1/policies": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "new-" + unique
		return newRequest(t, "POST", "/api/v1/policies", token, validPolicyJSON(t, name)), func(t *testing.T, allowed bool) {
			_, err := f.st.GetPolicy(t.Context(), "prod", name)
			if allowed != (err == nil) {
				t.Errorf("allowed %v, policy stored: %v", allowed, err)
			}
		}
	},
	"DELETE /api/v1/policies/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "del-" + unique
		f.createPolicy(t, "prod", name)
		return newRequest(t, "DELETE", "/api/v1/policies/"+name, token, ""), func(t *testing.T, allowed bool) {
			_, err := f.st.GetPolicy(t.Context(), "prod", name)
			if allowed != errors.Is(err, store.ErrNotFound) {
				t.Errorf("allowed %v, policy after the call: %v", allowed, err)
			}
		}
	},
	"GET /api/v1/approvals": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/approvals", token, ""), nil
	},
	"GET /api/v1/approvals/{id}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		a := f.approval(t, u)
		return newRequest(t, "GET", "/api/v1/approvals/"+itoa(a.ID), token, ""), nil
	},
	"POST /api/v1/approvals/{id}/approve": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		a := f.approval(t, u)
		return newRequest(t, "POST", "/api/v1/approvals/"+itoa(a.ID)+"/approve", token, ""), func(t *testing.T, allowed bool) {
			got, err := f.st.GetApproval(t.Context(), "prod", a.ID)
			if err != nil || allowed != (got.State != store.ApprovalPending) {
				t.Errorf("allowed %v, state %s %v", allowed, got.State, err)
			}
		}
	},
	"POST /api/v1/approvals/{id}/reject": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		a := f.approval(t, u)
		return newRequest(t, "POST", "/api/v1/approvals/"+itoa(a.ID)+"/reject", token, ""), func(t *testing.T, allowed bool) {
			got, err := f.st.GetApproval(t.Context(), "prod", a.ID)
			if err != nil || allowed != (got.State == store.ApprovalRejected) {
				t.Errorf("allowed %v, state %s %v", allowed, got.State, err)
			}
		}
	},
	"GET /api/v1/tokens": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/tokens", token, ""), nil
	},
	"DELETE /api/v1/tokens/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "revoke-" + unique
		if _, err := f.st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: name, Role: access.RoleReader}); err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "DELETE", "/api/v1/tokens/"+name, token, ""), func(t *testing.T, allowed bool) {
			tokens, err := f.st.ListTokens(t.Context(), "prod")
			if err != nil {
				t.Fatal(err)
			}
			kept := slices.ContainsFunc(tokens, func(tok store.Token) bool { return tok.Name == name })
			if allowed == kept {
				t.Errorf("allowed %v, token kept %v", allowed, kept)
			}
		}
	},
	"POST /api/v1/tokens": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		before, err := f.st.CountTokens(t.Context(), "prod")
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"name":"tok-%s","role":"reader"}`, unique)
		return newRequest(t, "POST", "/api/v1/tokens", token, body), func(t *testing.T, allowed bool) {
			after, err := f.st.CountTokens(t.Context(), "prod")
			if err != nil || allowed != (after == before+1) {
				t.Errorf("allowed %v, tokens %d → %d (%v)", allowed, before, after, err)
			}
		}
	},
}

func TestAuthorisationMatrix(t *testing.T) {
	f := newFixture(t)
	// rank is the design's role order, written out here rather than taken from access.
	rank := map[string]int{access.RoleReader: 1, access.RoleOperator: 2, access.RoleContributor: 3}
	callers := []struct{ name, token, role string }{
		{"no token", "", ""},
		{"unknown token", "cairn_notatoken", ""},
		{"reader", f.tokens[access.RoleReader], access.RoleReader},
		{"operator", f.tokens[access.RoleOperator], access.RoleOperator},
		{"contributor", f.tokens[access.RoleContributor], access.RoleContributor},
		{"agent", f.agentToken, access.RoleAgent},
		{"admin", f.adminToken, access.RoleAdmin},
	}
	calls := map[string]matrixCall{}
	for _, m := range []map[string]matrixCall{matrixCalls, objectMatrixCalls, agentMatrixCalls, filesMatrixCalls, notificationMatrixCalls, validationMatrixCalls, vaultMatrixCalls} {
		for k, v := range m {
			calls[k] = v
		}
	}
	routes := f.srv.routes()
	if len(routes) != len(calls) {
		t.Errorf("%d routes, %d matrix calls", len(routes), len(calls))
	}
	for ri, rt := range routes {
		key := rt.method + " " + rt.pattern
		call, ok := calls[key]
		if !ok {
			t.Errorf("route %s has no matrix call: add one", key)
			continue
		}
		for ci, c := range callers {
			t.Run(key+"/"+c.name, func(t *testing.T) {
				req, check := call(t, f, c.token, fmt.Sprintf("r%dc%d", ri, ci))
				rec := f.serve(req)
				sameKind := (rt.minRole == access.RoleAgent) == (c.role == access.RoleAgent) && (rt.minRole == access.RoleAdmin) == (c.role == access.RoleAdmin)
				allowed := rt.minRole == public || c.role != "" && sameKind && rank[c.role] >= rank[rt.minRole] ||
					rt.minRole == access.RoleAny && c.role != "" && c.role != access.RoleAgent
				switch {
				case allowed && (rec.Code < 200 || rec.Code > 299):
					t.Errorf("allowed call got %d: %s", rec.Code, rec.Body)
				case !allowed && c.role == "":
					if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("got %d, WWW-Authenticate %q; want 401", rec.Code, rec.Header().Get("WWW-Authenticate"))
					}
					if e := decodeErrorBody(t, rec); e.Code != "unauthorized" {
						t.Errorf("error %+v", e)
					}
				case !allowed:
					if rec.Code != http.StatusForbidden {
						t.Errorf("got %d, want 403: %s", rec.Code, rec.Body)
					}
					want := "needs the " + rt.minRole + " role"
					switch {
					case rt.minRole == access.RoleAdmin || c.role == access.RoleAdmin:
						want = "server administrator"
					case rt.minRole == access.RoleAgent || c.role == access.RoleAgent:
						want = "token"
					}
					if e := decodeErrorBody(t, rec); e.Code != "forbidden" || !strings.Contains(e.Message, want) {
						t.Errorf("error %+v", e)
					}
				}
				if check != nil {
					check(t, allowed)
				}
			})
		}
	}
}

func TestWhoAmI(t *testing.T) {
	f := newFixture(t)
	for _, role := range roles {
		rec := f.do(t, "GET", "/api/v1/whoami", f.tokens[role], "")
		var got whoAmIResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s (%v)", role, rec.Code, rec.Body, err)
		}
		if want := (whoAmIResponse{Vault: "prod", Name: role + "-user", Role: role}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
}

func TestBearerHeaderForms(t *testing.T) {
	f := newFixture(t)
	secret := f.tokens[access.RoleReader]
	for header, want := range map[string]int{
		"Bearer " + secret:       http.StatusOK,
		"bearer " + secret:       http.StatusOK,
		"Bearer  " + secret:      http.StatusOK,
		"Basic " + secret:        http.StatusUnauthorized,
		secret:                   http.StatusUnauthorized,
		"Bearer":                 http.StatusUnauthorized,
		"Bearer ":                http.StatusUnauthorized,
		"Bearer " + secret + "x": http.StatusUnauthorized,
	} {
		req := newRequest(t, "GET", "/api/v1/whoami", "", "")
		req.Header.Set("Authorization", header)
		if rec := f.serve(req); rec.Code != want {
			t.Errorf("Authorization %q: got %d, want %d", strings.Replace(header, secret, "<secret>", 1), rec.Code, want)
		}
	}
}

func TestVaultsAreSeparate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.st.EnsureVault(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	dev, err := f.st.CreateToken(ctx, "dev", store.TokenSpec{Name: "dev-admin", Role: access.RoleContributor})
	if err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, dev)
	f.createPolicy(t, "prod", "nightly")

	if rec := f.do(t, "GET", "/api/v1/policies/nightly", dev, ""); rec.Code != http.StatusNotFound {
		t.Errorf("dev reads prod's policy: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/policies", dev, ""); rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"items":[]}` {
		t.Errorf("dev lists: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "DELETE", "/api/v1/policies/nightly", dev, ""); rec.Code != http.StatusNotFound {
		t.Errorf("dev deletes prod's policy: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/api/v1/policies", dev, validPolicyJSON(t, "nightly")); rec.Code != http.StatusCreated {
		t.Errorf("dev creates its own nightly: %d %s", rec.Code, rec.Body)
	}
	if _, err := f.st.GetPolicy(ctx, "prod", "nightly"); err != nil {
		t.Errorf("prod's policy: %v", err)
	}
}

// TestRouteRolesFollowTheDesign pins the route table's roles to the role columns of the design's
// API table (docs/design/vault.md): the matrix test takes them from the route table, so it would
// not notice a wrong one.
func TestRouteRolesFollowTheDesign(t *testing.T) {
	want := map[string]string{
		"GET /api/v1/openapi.json":          public,
		"GET /api/v1/sso":                   public,
		"POST /api/v1/sso/token":            public,
		"POST /api/v1/sso/revoke":           public,
		"GET /api/v1/vaults":                access.RoleAdmin,
		"POST /api/v1/vaults":               access.RoleAdmin,
		"DELETE /api/v1/vaults/{name}":      access.RoleAdmin,
		"POST /api/v1/vaults/{name}/tokens": access.RoleAdmin,
		"GET /api/v1/server-audit":          access.RoleAdmin,
		"GET /api/v1/whoami":                access.RoleAny,
		"GET /api/v1/policies":              access.RoleReader,
		"GET /api/v1/policies/{name}":       access.RoleReader,
		"POST /api/v1/policies":             access.RoleContributor,
		"DELETE /api/v1/policies/{name}":    access.RoleContributor,
		"POST /api/v1/tokens":               access.RoleContributor,
		"GET /api/v1/tokens":                access.RoleContributor,
		"DELETE /api/v1/tokens/{name}":      access.RoleContributor,

		"GET /api/v1/clusters":                         access.RoleReader,
		"GET /api/v1/clusters/{name}":                  access.RoleReader,
		"POST /api/v1/clusters":                        access.RoleContributor,
		"POST /api/v1/clusters/{name}/revoke":          access.RoleContributor,
		"GET /api/v1/instances":                        access.RoleReader,
		"GET /api/v1/instances/{name}":                 access.RoleReader,
		"POST /api/v1/instances":                       access.RoleContributor,
		"POST /api/v1/instances/{name}/backup":         access.RoleOperator,
		"POST /api/v1/instances/{name}/stop":           access.RoleContributor,
		"POST /api/v1/instances/{name}/resume":         access.RoleContributor,
		"DELETE /api/v1/instances/{name}":              access.RoleContributor,
		"GET /api/v1/recovery-points":                  access.RoleReader,
		"GET /api/v1/recovery-points/{name}":           access.RoleReader,
		"DELETE /api/v1/recovery-points/{name}":        access.RoleContributor,
		"POST /api/v1/recovery-points/{name}/undelete": access.RoleOperator,
		"POST /api/v1/restores":                        access.RoleOperator,
		"GET /api/v1/jobs":                             access.RoleReader,
		"GET /api/v1/job-counts":                       access.RoleReader,
		"GET /api/v1/jobs/{id}":                        access.RoleReader,
		"GET /api/v1/jobs/{id}/logs":                   access.RoleReader,
		"POST /api/v1/jobs/{id}/cancel":                access.RoleOperator,
		"GET /api/v1/usage":                            access.RoleReader,
		"GET /api/v1/audit":                            access.RoleReader,
		"GET /api/v1/approvals":                        access.RoleReader,
		"GET /api/v1/approvals/{id}":                   access.RoleReader,
		"POST /api/v1/approvals/{id}/approve":          access.RoleContributor,
		"POST /api/v1/approvals/{id}/reject":           access.RoleContributor,
		"POST /api/v1/agent/heartbeat":                 access.RoleAgent,
		"POST /api/v1/agent/claim":                     access.RoleAgent,
		"POST /api/v1/agent/jobs/{id}/progress":        access.RoleAgent,
		"POST /api/v1/agent/jobs/{id}/complete":        access.RoleAgent,

		"POST /api/v1/recovery-points/{name}/verify":                             access.RoleOperator,
		"POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse": access.RoleOperator,
		"POST /api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/fetch":  access.RoleOperator,
		"GET /api/v1/jobs/{id}/content":                                          access.RoleOperator,
		"PUT /api/v1/agent/jobs/{id}/content":                                    access.RoleAgent,

		"GET /api/v1/notification-rules":              access.RoleReader,
		"GET /api/v1/notification-rules/{name}":       access.RoleReader,
		"POST /api/v1/notification-rules":             access.RoleContributor,
		"DELETE /api/v1/notification-rules/{name}":    access.RoleContributor,
		"POST /api/v1/notification-rules/{name}/test": access.RoleOperator,
		"GET /api/v1/notifications":                   access.RoleReader,
		"GET /api/v1/notifications/{id}":              access.RoleReader,
		"POST /api/v1/instances/{name}/validate":      access.RoleOperator,
		"POST /api/v1/instances/{name}/reconcile":     access.RoleOperator,
		"POST /api/v1/instances/{name}/test-restore":  access.RoleOperator,
	}
	for _, rt := range NewServer(nil, Config{}).routes() {
		key := rt.method + " " + rt.pattern
		if role, ok := want[key]; !ok || role != rt.minRole {
			t.Errorf("%s needs %q, want %q", key, rt.minRole, role)
		}
	}
}

// approval stores another contributor's pending request to revoke a cluster made for it (whose
// requester has no token: an approval of it fails, and leaves it not pending).
func (f *fixture) approval(t *testing.T, unique string) store.Approval {
	t.Helper()
	cluster := "ap-" + unique
	f.cluster(t, cluster)
	a, err := f.st.CreateApproval(t.Context(), "prod", store.Approval{Operation: "POST /api/v1/clusters/{name}/revoke", Method: http.MethodPost,
		Path: "/api/v1/clusters/" + cluster + "/revoke", RequestedBy: "someone-else", ExpiresAt: fixedClock().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
