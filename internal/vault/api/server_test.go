package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

var roles = []string{access.RoleReader, access.RoleOperator, access.RoleContributor}

func fixedClock() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// fixture is a server over a fresh SQLite store with vault "prod" and one token per role, named
// "<role>-user". At cleanup it fails the test if any token it knows of reached the log.
type fixture struct {
	st      *store.Store
	srv     *Server
	h       http.Handler
	logs    *testenv.LockedBuffer
	tokens  map[string]string // role → secret
	secrets []string
	// agentToken is the agent token of cluster agentCluster.
	agentToken string
	// adminToken is a token of the server's administrator.
	adminToken string
	// idp is the OpenID provider of the server's single sign-on (sso_test.go).
	idp *testIssuer
}

// testLease is the job lease of the fixture's server.
const testLease = time.Minute

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, t.TempDir(), fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, logs: &testenv.LockedBuffer{}, tokens: map[string]string{}}
	for _, role := range roles {
		secret, err := st.CreateToken(ctx, "prod", store.TokenSpec{Name: role + "-user", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
		f.secrets = append(f.secrets, secret)
	}
	f.agentToken = f.cluster(t, agentCluster)
	if f.adminToken, err = st.CreateAdminToken(ctx, store.TokenSpec{Name: "root", ExpiresAt: fixedClock().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, f.adminToken)
	f.idp = newTestIssuer(t)
	f.srv = NewServer(st, Config{Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Now: fixedClock, Lease: testLease,
		ClaimWait: 50 * time.Millisecond, FilesWait: 2 * time.Second, SSO: f.idp.provider(t, fixtureSSOConfig)})
	f.h = f.srv.Handler()
	t.Cleanup(func() {
		logs := f.logs.String()
		for _, secret := range f.secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("a token reached the log:\n%s", logs)
			}
		}
	})
	return f
}

// do serves one request; token "" sends no Authorization header.
func (f *fixture) do(t *testing.T, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	return f.serve(newRequest(t, method, path, token, body))
}

func (f *fixture) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func newRequest(t *testing.T, method, path, token, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// createPolicy stores a valid policy straight in the store.
func (f *fixture) createPolicy(t *testing.T, vault, name string) policy.Policy {
	t.Helper()
	p := validPolicy(name)
	if err := f.st.CreatePolicy(t.Context(), vault, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func validPolicy(name string) policy.Policy {
	return policy.Policy{
		Name:      name,
		Schedule:  policy.Schedule{EveryHours: 4, TimeZone: "Europe/Berlin"},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour), Weekly: policy.Duration(28 * 24 * time.Hour), KeepLast: 2},
	}
}

func validPolicyJSON(t *testing.T, name string) string {
	t.Helper()
	b, err := json.Marshal(validPolicy(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeErrorBody reads an error response, checking its shape and content type.
func decodeErrorBody(t *testing.T, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body errorBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return body.Error
}

// logLines parses the JSON log lines in b with the message msg.
func logLines(t *testing.T, b *testenv.LockedBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditLine(t *testing.T) {
	f := newFixture(t)
	if rec := f.do(t, "GET", "/api/v1/policies", f.tokens[access.RoleReader], ""); rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/api/v1/policies", f.tokens[access.RoleOperator], validPolicyJSON(t, "p")); rec.Code != http.StatusForbidden {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	lines := logLines(t, f.logs, "api request")
	if len(lines) != 2 {
		t.Fatalf("got %d audit lines:\n%s", len(lines), f.logs)
	}
	for i, want := range []map[string]any{
		{"level": "INFO", "vault": "prod", "principal": "reader-user", "role": "reader", "method": "GET", "path": "/api/v1/policies", "status": 200.0, "duration": 0.0, "source": "192.0.2.1"},
		{"level": "INFO", "vault": "prod", "principal": "operator-user", "role": "operator", "method": "POST", "path": "/api/v1/policies", "status": 403.0, "duration": 0.0, "source": "192.0.2.1"},
	} {
		delete(lines[i], "time")
		delete(lines[i], "msg")
		if len(lines[i]) != len(want) {
			t.Errorf("line %d has keys %v, want %v", i, lines[i], want)
		}
		for k, v := range want {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
	}
}

func TestAuditDurationUsesTheClock(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	tick := fixedClock()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(250 * time.Millisecond)
		return tick
	}
	h := NewServer(f.st, Config{Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Now: clock}).Handler()
	h.ServeHTTP(httptest.NewRecorder(), newRequest(t, "GET", "/api/v1/whoami", f.tokens[access.RoleReader], ""))
	lines := logLines(t, f.logs, "api request")
	if len(lines) != 1 || lines[0]["duration"] != float64(250*time.Millisecond) {
		t.Fatalf("audit lines %v", lines)
	}
}

func TestInternalErrorIsGenericAndLogged(t *testing.T) {
	f := newFixture(t)
	f.st.Close() // every store call now fails
	rec := f.do(t, "GET", "/api/v1/policies", f.tokens[access.RoleReader], "")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	e := decodeErrorBody(t, rec)
	if e.Code != "internal" || strings.Contains(e.Message, "sql") || strings.Contains(e.Message, "closed") {
		t.Fatalf("error %+v", e)
	}
	logged := logLines(t, f.logs, "api internal error")
	if len(logged) != 1 || !strings.Contains(logged[0]["error"].(string), "closed") || logged[0]["level"] != "ERROR" {
		t.Fatalf("internal error log %v", logged)
	}
}

func TestAbandonedRequestIsNoInternalError(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the caller went away before the store answered
	rec := f.serve(newRequest(t, "GET", "/api/v1/policies", f.tokens[access.RoleReader], "").WithContext(ctx))
	if rec.Code != statusClientClosedRequest {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if logged := logLines(t, f.logs, "api internal error"); len(logged) != 0 {
		t.Errorf("logged as an internal error: %v", logged)
	}
	if logged := logLines(t, f.logs, "api request abandoned by its caller"); len(logged) != 1 || logged[0]["level"] != "INFO" {
		t.Errorf("abandoned request log %v", logged)
	}
}

func TestUnmatchedRequestsGetJSONErrors(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "PUT", "/api/v1/policies", f.tokens[access.RoleContributor], "{}")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, POST" {
		t.Fatalf("status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if e := decodeErrorBody(t, rec); e.Code != "method_not_allowed" {
		t.Fatalf("error %+v", e)
	}
	rec = f.do(t, "PATCH", "/api/v1/policies/p", f.tokens[access.RoleContributor], "{}")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "DELETE, GET" {
		t.Fatalf("status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	for _, path := range []string{"/api/v1/nothing", "/api/v2/policies", "/"} {
		rec = f.do(t, "GET", path, f.tokens[access.RoleReader], "")
		if rec.Code != http.StatusNotFound {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if e := decodeErrorBody(t, rec); e.Code != "not_found" {
			t.Fatalf("%s: error %+v", path, e)
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	f := newFixture(t)
	f.createPolicy(t, "prod", "gone")
	for _, rec := range []*httptest.ResponseRecorder{
		f.do(t, "GET", "/api/v1/whoami", f.tokens[access.RoleReader], ""),
		f.do(t, "DELETE", "/api/v1/policies/gone", f.tokens[access.RoleContributor], ""),
		f.do(t, "GET", "/api/v1/whoami", "", ""),
	} {
		h := rec.Header()
		if h.Get("Content-Type") != "application/json" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("status %d headers %v", rec.Code, h)
		}
	}
}

func TestNewServerDefaults(t *testing.T) {
	f := newFixture(t)
	h := NewServer(f.st, Config{}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(t, "GET", "/api/v1/whoami", f.tokens[access.RoleReader], ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
