package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// movingClock is a clock a test moves.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movingClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenFixture is a server whose store and API share a clock the test moves, with the
// contributor token "admin".
func tokenFixture(t *testing.T) (*fixture, *movingClock, string) {
	t.Helper()
	clock := &movingClock{t: fixedClock()}
	st, err := store.OpenSQLite(t.Context(), t.TempDir(), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureVault(t.Context(), "prod"); err != nil {
		t.Fatal(err)
	}
	admin, err := st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: "admin", Role: access.RoleContributor})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(st, Config{Now: clock.now, TokenLifetime: 30 * 24 * time.Hour})
	return &fixture{st: st, srv: srv, h: srv.Handler()}, clock, admin
}

func TestTokensExpireAndAreListed(t *testing.T) {
	f, clock, admin := tokenFixture(t)
	var short, long vaultv1.NewToken
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"ci","role":"operator","expiresIn":"2h"}`), http.StatusCreated, &short)
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"alice@example.com","role":"reader"}`), http.StatusCreated, &long)
	if !short.ExpiresAt.Equal(fixedClock().Add(2 * time.Hour)) {
		t.Errorf("ci expires at %s, want 2h from now", short.ExpiresAt)
	}
	if !long.ExpiresAt.Equal(fixedClock().Add(30 * 24 * time.Hour)) {
		t.Errorf("alice's token expires at %s, want the vault's 30-day lifetime", long.ExpiresAt)
	}
	if rec := f.do(t, "GET", "/api/v1/whoami", short.Token, ""); rec.Code != http.StatusOK {
		t.Fatalf("a fresh token: %d %s", rec.Code, rec.Body)
	}

	clock.add(3 * time.Hour)
	rec := f.do(t, "GET", "/api/v1/whoami", short.Token, "")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnauthorized || !strings.Contains(e.Message, `token "ci" expired at 2026-03-01T14:00:00Z`) {
		t.Fatalf("an expired token: %d %+v", rec.Code, e)
	}
	var list vaultv1.List[vaultv1.Token]
	mustDecode(t, f.do(t, "GET", "/api/v1/tokens", admin, ""), http.StatusOK, &list)
	byName := map[string]vaultv1.Token{}
	for _, tok := range list.Items {
		byName[tok.Name] = tok
	}
	ci := byName["ci"]
	if !ci.Expired || ci.Role != access.RoleOperator || ci.Kind != store.TokenKindToken || ci.CreatedBy != "admin" ||
		ci.LastUsedAt == nil || !ci.LastUsedAt.Equal(fixedClock()) {
		t.Errorf("ci listed as %+v", ci)
	}
	if a := byName["alice@example.com"]; a.Expired || a.LastUsedAt != nil {
		t.Errorf("alice listed as %+v", a)
	}
	if strings.Contains(f.do(t, "GET", "/api/v1/tokens", admin, "").Body.String(), short.Token) {
		t.Error("the list shows a secret")
	}
}

func TestRevokedTokenIsRefusedAtOnce(t *testing.T) {
	f, _, admin := tokenFixture(t)
	var tok vaultv1.NewToken
	mustDecode(t, f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"ci","role":"contributor"}`), http.StatusCreated, &tok)
	if rec := f.do(t, "GET", "/api/v1/policies", tok.Token, ""); rec.Code != http.StatusOK {
		t.Fatalf("before: %d", rec.Code)
	}
	if rec := f.do(t, "DELETE", "/api/v1/tokens/ci", admin, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/policies", tok.Token, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", rec.Code)
	}
	if rec := f.do(t, "DELETE", "/api/v1/tokens/ci", admin, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("revoke twice: %d", rec.Code)
	}
	rec := f.do(t, "DELETE", "/api/v1/tokens/admin", admin, "")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusConflict || !strings.Contains(e.Message, "last working contributor token") {
		t.Fatalf("revoking the last contributor token: %d %+v", rec.Code, e)
	}
}

func TestTokenNamesAndLifetimesAreChecked(t *testing.T) {
	f, _, admin := tokenFixture(t)
	for body, want := range map[string]string{
		`{"name":"Admin","role":"reader"}`:                           `name "Admin": use lower-case letters`,
		`{"name":"аdmin","role":"reader"}`:                           `use lower-case letters`, // a Cyrillic а
		`{"name":"oidc:alice","role":"reader"}`:                      `use lower-case letters`,
		`{"name":"-x","role":"reader"}`:                              `starting with a letter or digit`,
		`{"name":"` + strings.Repeat("a", 65) + `","role":"reader"}`: `65 characters, at most 64`,
		`{"name":"ci","role":"reader","expiresIn":"30s"}`:            `expiresIn: 30s: give between 1m and`,
		`{"name":"ci","role":"reader","expiresIn":"400d"}`:           `expiresIn: 400d: give between 1m and`,
		`{"name":"ci","role":"reader","expiresIn":"soon"}`:           `expiresIn: `,
	} {
		rec := f.do(t, "POST", "/api/v1/tokens", admin, body)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %d %+v, want 422 with %q", body, rec.Code, e, want)
		}
	}
}

func TestTokenAuditNamesRoleAndRefusals(t *testing.T) {
	f, _, admin := tokenFixture(t)
	if rec := f.do(t, "POST", "/api/v1/tokens", admin, `{"name":"ci","role":"operator","expiresIn":"1d"}`); rec.Code != http.StatusCreated {
		t.Fatal(rec.Code)
	}
	for range 25 {
		req := newRequest(t, "GET", "/api/v1/policies", "cairn_guessed", "")
		req.RemoteAddr = "192.0.2.7:4711"
		f.serve(req)
	}
	req := newRequest(t, "GET", "/api/v1/policies", "cairn_guessed", "")
	req.RemoteAddr = "192.0.2.8:4711"
	f.serve(req)

	entries, err := f.st.ListAudit(t.Context(), "prod", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]int{}
	var created bool
	for _, e := range entries.Items {
		if e.Status == http.StatusUnauthorized {
			refused[e.Source]++
		}
		if e.Operation == "POST /api/v1/tokens" && strings.Contains(e.Object, "token ci, role operator, expires 2026-03-02T12:00:00Z") && e.Principal == "admin" {
			created = true
		}
	}
	if !created {
		t.Errorf("no audit entry names the token made and its role: %+v", entries.Items)
	}
	if refused["192.0.2.7"] != refusedPerMinute || refused["192.0.2.8"] != 1 {
		t.Errorf("refused calls audited per source: %v, want %d and 1", refused, refusedPerMinute)
	}
}

func mustDecode(t *testing.T, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if err := json.NewDecoder(rec.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
