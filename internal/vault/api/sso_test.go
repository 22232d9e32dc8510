package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/sso"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// These unit tests sign ID tokens with a key of their own, published by go-oidc's test server
// (discovery and keys only); the flows against a real provider are the Backup center's and the
// CLI's tests (internal/oidctest).

// fixtureSSOConfig is the fixture's single sign-on: vault prod, a group per role.
const fixtureSSOConfig = `
clientID: cairn
deviceClientID: cairn-cli
vaults:
  prod:
    groups:
      admins: contributor
      ops: operator
      viewers: reader
`

var signingKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return key
})

// testIssuer publishes signingKey's public half as an OpenID provider on loopback.
type testIssuer struct{ url string }

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	op := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: signingKey().Public(), KeyID: "k1", Algorithm: oidc.ES256}},
		Algorithms: []string{oidc.ES256}}
	srv := httptest.NewServer(op)
	t.Cleanup(srv.Close)
	op.SetIssuer(srv.URL)
	return &testIssuer{url: srv.URL}
}

// provider is a single sign-on with config (YAML without the issuer) against this issuer.
func (i *testIssuer) provider(t *testing.T, config string) *sso.Provider {
	t.Helper()
	cfg, err := sso.Parse([]byte("issuer: "+i.url+"\n"+config), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sso.NewProvider(cfg, sso.Options{Now: fixedClock})
}

// idToken signs an ID token of this issuer for the CLI's client, issued at fixedClock, with
// claims added or replaced (a nil value removes a claim).
func (i *testIssuer) idToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	all := map[string]any{"iss": i.url, "aud": "cairn-cli", "sub": "u-alice", "email": "Alice@Example.com",
		"iat": fixedClock().Unix(), "exp": fixedClock().Add(time.Hour).Unix(), "groups": []string{"viewers"}}
	for k, v := range claims {
		if v == nil {
			delete(all, k)
			continue
		}
		all[k] = v
	}
	raw, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return oidctest.SignIDToken(signingKey(), "k1", oidc.ES256, string(raw))
}

func ssoTokenBody(t *testing.T, idToken, vault string) string {
	t.Helper()
	b, err := json.Marshal(vaultv1.SSOTokenRequest{IDToken: idToken, Vault: vault})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) ssoSignIn(t *testing.T, claims map[string]any) vaultv1.SSOToken {
	t.Helper()
	rec := f.do(t, "POST", "/api/v1/sso/token", "", ssoTokenBody(t, f.idp.idToken(t, claims), ""))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /sso/token: %d %s", rec.Code, rec.Body)
	}
	var tok vaultv1.SSOToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, tok.Token)
	return tok
}

func TestSSOSettings(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/api/v1/sso", "", "")
	var got vaultv1.SSOSettings
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s (%v)", rec.Code, rec.Body, err)
	}
	want := vaultv1.SSOSettings{Issuer: f.idp.url, ClientID: "cairn-cli", ProviderName: strings.TrimPrefix(f.idp.url, "http://"),
		Scopes: sso.DefaultScopes}
	if !equalJSON(t, got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	bare := NewServer(f.st, Config{Now: fixedClock}).Handler()
	for _, req := range []*http.Request{newRequest(t, "GET", "/api/v1/sso", "", ""),
		newRequest(t, "POST", "/api/v1/sso/token", "", ssoTokenBody(t, f.idp.idToken(t, nil), ""))} {
		rec := httptest.NewRecorder()
		bare.ServeHTTP(rec, req)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusNotFound || !strings.Contains(e.Message, "no single sign-on configured") {
			t.Errorf("%s %s without single sign-on: %d %+v", req.Method, req.URL.Path, rec.Code, e)
		}
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(ja) == string(jb)
}

// TestSSOTokenRoleFromGroups: the highest mapped group wins, the token works with that role, is
// of kind sso and expires after the configured lifetime; a person without a mapped group is
// refused, and the refusal is audited.
func TestSSOTokenRoleFromGroups(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		groups []string
		role   string
	}{
		{[]string{"viewers"}, access.RoleReader},
		{[]string{"ops", "unrelated"}, access.RoleOperator},
		{[]string{"viewers", "admins", "ops"}, access.RoleContributor},
	} {
		tok := f.ssoSignIn(t, map[string]any{"groups": tc.groups})
		if tok.Vault != "prod" || tok.Role != tc.role || !strings.HasPrefix(tok.Name, "oidc:alice@example.com:") ||
			len(tok.Name) != len("oidc:alice@example.com:")+8 || !tok.ExpiresAt.Equal(fixedClock().Add(sso.DefaultTokenLifetime)) {
			t.Errorf("groups %v: token %+v", tc.groups, tok)
		}
		rec := f.do(t, "GET", "/api/v1/whoami", tok.Token, "")
		var who whoAmIResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &who); err != nil || who != (whoAmIResponse{Vault: "prod", Name: tok.Name, Role: tc.role}) {
			t.Errorf("groups %v: whoami %d %s", tc.groups, rec.Code, rec.Body)
		}
	}
	tokens, err := f.st.ListTokens(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	sso := 0
	for _, tok := range tokens {
		if strings.HasPrefix(tok.Name, "oidc:") {
			sso++
			if tok.Kind != store.TokenKindSSO || !strings.HasPrefix(tok.CreatedBy, "single sign-on (http://127.0.0.1:") {
				t.Errorf("token %+v", tok)
			}
		}
	}
	if sso != 3 {
		t.Errorf("%d single sign-on tokens, want 3 (one per sign-in)", sso)
	}

	for _, groups := range []any{[]string{"strangers"}, nil} {
		rec := f.do(t, "POST", "/api/v1/sso/token", "", ssoTokenBody(t, f.idp.idToken(t, map[string]any{"groups": groups, "email": "carol@example.com"}), ""))
		e := decodeErrorBody(t, rec)
		if rec.Code != http.StatusForbidden || e.Code != "forbidden" || !strings.Contains(e.Message, "carol@example.com") ||
			!strings.Contains(e.Message, "has no role in any vault (prod)") {
			t.Errorf("groups %v: %d %+v", groups, rec.Code, e)
		}
	}
	after, err := f.st.ListTokens(t.Context(), "prod")
	if err != nil || len(after) != len(tokens) {
		t.Errorf("refused sign-ins made tokens: %d → %d (%v)", len(tokens), len(after), err)
	}
	audit, err := f.st.ListAudit(t.Context(), "prod", store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var minted, refused int
	for _, e := range audit.Items {
		switch {
		case e.Operation == "POST /api/v1/sso/token" && e.Status == http.StatusCreated && strings.HasPrefix(e.Principal, "oidc:alice@example.com:") &&
			strings.Contains(e.Object, "expires") && strings.Contains(e.Object, "subject u-alice"):
			minted++
		case e.Operation == "POST /api/v1/sso/token" && e.Status == http.StatusForbidden && e.Principal == "oidc:carol@example.com" &&
			strings.Contains(e.Object, "no role for groups [strangers]"):
			refused++
		}
	}
	if minted != 3 || refused != 1 {
		t.Errorf("audit: %d mintings, %d refusals of strangers; want 3 and 1: %+v", minted, refused, audit.Items)
	}
}

// TestSSOTokenRefusesIDTokens: each check of the design refuses with 401 and says why.
func TestSSOTokenRefusesIDTokens(t *testing.T) {
	f := newFixture(t)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := json.Marshal(map[string]any{"iss": f.idp.url, "aud": "cairn-cli", "sub": "x", "iat": fixedClock().Unix(),
		"exp": fixedClock().Add(time.Hour).Unix(), "groups": []string{"admins"}})
	for name, tc := range map[string]struct {
		token, want string
	}{
		"another key":         {oidctest.SignIDToken(other, "k1", oidc.ES256, string(forged)), "signature"},
		"another issuer":      {f.idp.idToken(t, map[string]any{"iss": "https://evil.example"}), "different provider"},
		"another audience":    {f.idp.idToken(t, map[string]any{"aud": "someone-else"}), "audience"},
		"expired":             {f.idp.idToken(t, map[string]any{"exp": fixedClock().Add(-time.Second).Unix()}), "expired"},
		"issued long ago":     {f.idp.idToken(t, map[string]any{"iat": fixedClock().Add(-11 * time.Minute).Unix()}), "more than 10m0s ago"},
		"issued in future":    {f.idp.idToken(t, map[string]any{"iat": fixedClock().Add(6 * time.Minute).Unix()}), "in the future"},
		"no issue time":       {f.idp.idToken(t, map[string]any{"iat": nil}), "no issue time"},
		"groups not strings":  {f.idp.idToken(t, map[string]any{"groups": []any{"admins", 7}}), "not only strings"},
		"groups not a list":   {f.idp.idToken(t, map[string]any{"groups": 7}), "not a list of strings"},
		"not a JWT":           {"not-a-jwt", "malformed"},
		"unsigned (alg none)": {unsigned(t, forged), "malformed"},
	} {
		rec := f.do(t, "POST", "/api/v1/sso/token", "", ssoTokenBody(t, tc.token, ""))
		e := decodeErrorBody(t, rec)
		if rec.Code != http.StatusUnauthorized || e.Code != "unauthorized" || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %d %+v, want 401 saying %q", name, rec.Code, e, tc.want)
		}
	}
	// The Backup center's client is an audience too; an empty or missing ID token is invalid.
	f.ssoSignIn(t, map[string]any{"aud": "cairn"})
	for _, body := range []string{`{"idToken":""}`, `{}`} {
		rec := f.do(t, "POST", "/api/v1/sso/token", "", body)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != "idToken" {
			t.Errorf("%s: %d %+v", body, rec.Code, e)
		}
	}
}

func unsigned(t *testing.T, claims []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "."
}

// TestSSOTokenVaultChoice: roles in two vaults and none named is a conflict naming both; naming
// one signs in there; naming one without a role is refused.
func TestSSOTokenVaultChoice(t *testing.T) {
	f := newFixture(t)
	if err := f.st.EnsureVault(t.Context(), "staging"); err != nil {
		t.Fatal(err)
	}
	h := NewServer(f.st, Config{Now: fixedClock, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), SSO: f.idp.provider(t, fixtureSSOConfig+`
  staging:
    groups:
      viewers: contributor
  qa:
    groups:
      testers: reader
`)}).Handler()
	call := func(vault string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newRequest(t, "POST", "/api/v1/sso/token", "", ssoTokenBody(t, f.idp.idToken(t, nil), vault)))
		return rec
	}
	rec := call("")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusConflict || !strings.Contains(e.Message, "prod (reader), staging (contributor)") {
		t.Errorf("no vault named: %d %+v", rec.Code, e)
	}
	rec = call("staging")
	var tok vaultv1.SSOToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || rec.Code != http.StatusCreated || tok.Vault != "staging" || tok.Role != access.RoleContributor {
		t.Fatalf("staging: %d %s", rec.Code, rec.Body)
	}
	f.secrets = append(f.secrets, tok.Token)
	rec = call("qa")
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusForbidden || !strings.Contains(e.Message, "no role in vault qa") {
		t.Errorf("qa: %d %+v", rec.Code, e)
	}
}

// TestSSOTokensArePrunedAndRevoked: a person's expired single sign-on tokens go at their next
// sign-in; signing out revokes a token at once; a token a person made is not signed out here.
func TestSSOTokensArePrunedAndRevoked(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for _, name := range []string{"oidc:alice@example.com:old00000", "oidc:bob@example.com:old00000"} {
		if _, err := f.st.CreateToken(ctx, "prod", store.TokenSpec{Name: name, Role: access.RoleReader, Kind: store.TokenKindSSO,
			ExpiresAt: fixedClock().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	tok := f.ssoSignIn(t, nil)
	names := tokenNames(t, f)
	if names["oidc:alice@example.com:old00000"] || !names["oidc:bob@example.com:old00000"] || !names[tok.Name] {
		t.Errorf("after alice's sign-in: %v", slices.Sorted(maps.Keys(names)))
	}

	revoke := func(token string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(vaultv1.SSORevokeRequest{Token: token})
		return f.do(t, "POST", "/api/v1/sso/revoke", "", string(b))
	}
	if rec := revoke(tok.Token); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/whoami", tok.Token, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("whoami after sign-out: %d", rec.Code)
	}
	if rec := revoke(tok.Token); rec.Code != http.StatusNoContent {
		t.Errorf("second revoke: %d %s", rec.Code, rec.Body)
	}
	for name, token := range map[string]string{"a person's token": f.tokens[access.RoleReader], "an agent token": f.agentToken} {
		rec := revoke(token)
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(e.Message, "not a single sign-on token") {
			t.Errorf("%s: %d %+v", name, rec.Code, e)
		}
	}
	if rec := f.do(t, "GET", "/api/v1/whoami", f.tokens[access.RoleReader], ""); rec.Code != http.StatusOK {
		t.Errorf("the reader's token after a refused sign-out: %d", rec.Code)
	}
	audit, err := f.st.ListAudit(ctx, "prod", store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit.Items, func(e store.AuditEntry) bool {
		return e.Operation == "POST /api/v1/sso/revoke" && e.Principal == tok.Name && e.Status == http.StatusNoContent
	}) {
		t.Errorf("no audit entry of the sign-out: %+v", audit.Items)
	}
}

func tokenNames(t *testing.T, f *fixture) map[string]bool {
	t.Helper()
	tokens, err := f.st.ListTokens(t.Context(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tok := range tokens {
		out[tok.Name] = true
	}
	return out
}

func TestSSOTokenNameUser(t *testing.T) {
	for in, want := range map[string]string{
		"Alice@Example.com":      "alice@example.com",
		"bob smith":              "bob_smith",
		"a:b/c\n":                "a_b_c_",
		"":                       "_",
		strings.Repeat("x", 50):  strings.Repeat("x", ssoUsernameMax),
		"jürgen+ops@example.com": "j_rgen+ops@example.com",
		"0123456789012345678901234567890123456789tail": "0123456789012345678901234567890123456789",
	} {
		if got := tokenNameUser(in); got != want {
			t.Errorf("tokenNameUser(%q) = %q, want %q", in, got, want)
		}
	}
}
