package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/oidctest"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/sso"
	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/ui"
)

// The Backup center's single sign-on against a real OpenID provider (internal/oidctest): the
// authorization code flow with PKCE, as a browser does it with a cookie jar. The vault runs on
// the real clock here: the provider's ID tokens carry the real time.

type ssoFixture struct {
	idp *oidctest.Provider
	st  *store.Store
	srv *httptest.Server
}

func newSSOFixture(t *testing.T) *ssoFixture {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{})
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "secret"), []byte(oidctest.WebClientSecret+"\n"), 0o600))
	cfg, err := sso.Parse([]byte(`
issuer: `+idp.Issuer+`
providerName: Test SSO
clientID: `+oidctest.WebClientID+`
clientSecretFile: secret
deviceClientID: `+oidctest.CLIClientID+`
vaults:
  prod:
    groups:
      cairn-admins: contributor
      cairn-viewers: reader
  staging:
    groups:
      staff: reader
`), dir)
	must(t, err)
	st, err := store.OpenSQLite(t.Context(), t.TempDir(), time.Now)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.EnsureVault(t.Context(), "prod"))
	must(t, st.CreateVault(t.Context(), "staging"))
	// As every vault has from its first start. (Without another working contributor token, the
	// store refuses to revoke the last one, a single sign-on token included: signing out would
	// then leave the token to expire.)
	_, err = st.CreateToken(t.Context(), "prod", store.TokenSpec{Name: "admin", Role: "contributor"})
	must(t, err)
	provider := sso.NewProvider(cfg, sso.Options{})
	apiHandler := api.NewServer(st, api.Config{SSO: provider}).Handler()
	center, err := ui.New(ui.Config{API: apiHandler, SSO: provider, Sessions: vault.Sessions(st), PendingKey: make([]byte, 32)})
	must(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/", center.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &ssoFixture{idp: idp, st: st, srv: srv}
}

// browser is a cookie-keeping client that follows redirects, as a browser does across the vault
// and the provider; stopAt, if set, stops at the first redirect to a URL it accepts.
func (f *ssoFixture) browser(t *testing.T, stopAt func(*url.URL) bool) *browser {
	jar, err := cookiejar.New(nil)
	must(t, err)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if stopAt != nil {
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if stopAt(req.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		}
	}
	return &browser{t: t, base: f.srv.URL, client: c}
}

// landing is where a sign-in ended: the last response, read and closed.
type landing struct {
	status  int
	url     *url.URL
	header  http.Header
	cookies []*http.Cookie
}

// signIn signs user in from /signin/sso?next=next and returns the browser, where it landed and
// the page there.
func (f *ssoFixture) signIn(t *testing.T, user oidctest.User, next string) (*browser, landing, string) {
	t.Helper()
	b := f.browser(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := f.idp.LogIn(ctx, b.client, f.srv.URL+"/signin/sso?next="+url.QueryEscape(next), user)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return b, landing{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, cookies: resp.Cookies()}, string(body)
}

// ssoTokens are the vault's single sign-on tokens.
func (f *ssoFixture) ssoTokens(t *testing.T) []store.Token {
	t.Helper()
	all, err := f.st.ListTokens(t.Context(), "prod")
	must(t, err)
	var out []store.Token
	for _, tok := range all {
		if tok.Kind == store.TokenKindSSO {
			out = append(out, tok)
		}
	}
	return out
}

var refreshMeta = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]*)">`)

func TestSSOSignInLandsOnTheOverviewAndSignOutRevokes(t *testing.T) {
	f := newSSOFixture(t)
	signedOut := f.browser(t, func(*url.URL) bool { return true })
	_, page := signedOut.get("/signin?next=/jobs")
	if !strings.Contains(page, `href="/signin/sso?next=%2fjobs"`) || !strings.Contains(page, "Sign in with Test SSO") {
		t.Fatalf("the sign-in page has no single sign-on button:\n%s", page)
	}

	b, resp, page := f.signIn(t, oidctest.Alice, "")
	if resp.status != http.StatusOK || resp.url.Path != "/signin/sso/callback" || !strings.Contains(page, "Signed in as <strong>alice@example.com</strong> (contributor)") {
		t.Fatalf("callback: %d at %s\n%s", resp.status, resp.url, page)
	}
	if m := refreshMeta.FindStringSubmatch(page); m == nil || m[1] != "/" {
		t.Fatalf("the page does not go on to the overview by itself: %v\n%s", m, page)
	}
	var session, pending *http.Cookie
	for _, c := range resp.cookies {
		switch c.Name {
		case "cairn_session":
			session = c
		case "cairn_sso":
			pending = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || pending == nil || pending.MaxAge >= 0 {
		t.Fatalf("cookies of the callback: session %+v, pending sign-in %+v", session, pending)
	}
	res, overview := b.get("/")
	if res.StatusCode != http.StatusOK || !strings.Contains(overview, `<span id="whoami" title="vault prod">alice@example.com · contributor</span>`) ||
		!strings.Contains(overview, `href="/tokens"`) {
		t.Fatalf("overview as alice: %d\n%s", res.StatusCode, overview)
	}
	tokens := f.ssoTokens(t)
	if len(tokens) != 1 || !strings.HasPrefix(tokens[0].Name, "oidc:alice@example.com:") || tokens[0].Kind != store.TokenKindSSO ||
		tokens[0].Role != "contributor" || tokens[0].ExpiresAt == nil || time.Until(*tokens[0].ExpiresAt) < 11*time.Hour {
		t.Fatalf("tokens after the sign-in: %+v", tokens)
	}

	// Alice, a contributor, revokes bob's single sign-on token on the Tokens page: his session ends.
	bob, _, _ := f.signIn(t, oidctest.Bob, "/")
	var bobs string
	for _, tok := range f.ssoTokens(t) {
		if strings.HasPrefix(tok.Name, "oidc:bob@example.com:") {
			bobs = tok.Name
		}
	}
	res, page = b.post("/tokens/"+url.PathEscape(bobs)+"/revoke", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusOK || strings.Contains(page, bobs) {
		t.Fatalf("revoke %s: %d\n%s", bobs, res.StatusCode, page)
	}
	if _, page := bob.get("/"); !strings.Contains(page, "Sign in with Test SSO") {
		t.Errorf("bob's session outlived his token:\n%s", page)
	}

	// The browser follows the sign-out's redirect to the sign-in page.
	res, _ = b.post("/signout", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if tokens := f.ssoTokens(t); len(tokens) != 0 {
		t.Errorf("the single sign-on token outlived the sign-out: %+v", tokens)
	}
	if res, page := b.get("/"); !strings.Contains(page, "Sign in with Test SSO") {
		t.Errorf("after sign-out: %d\n%s", res.StatusCode, page)
	}
}

func TestSSOSignInHonoursNextAndRoles(t *testing.T) {
	f := newSSOFixture(t)
	b, _, page := f.signIn(t, oidctest.Bob, "/jobs?state=failed")
	if m := refreshMeta.FindStringSubmatch(page); m == nil || m[1] != "/jobs?state=failed" {
		t.Fatalf("next not honoured: %v\n%s", m, page)
	}
	res, jobs := b.get("/jobs?state=failed")
	if res.StatusCode != http.StatusOK || !strings.Contains(jobs, "bob@example.com · reader") || strings.Contains(jobs, `href="/tokens"`) {
		t.Fatalf("jobs as bob: %d\n%s", res.StatusCode, jobs)
	}
	if res, _ := b.get("/tokens"); res.StatusCode != http.StatusForbidden {
		t.Errorf("bob (reader) on the Tokens page: %d", res.StatusCode)
	}

	_, _, page = f.signIn(t, oidctest.Alice, "//evil.example/")
	if m := refreshMeta.FindStringSubmatch(page); m == nil || m[1] != "/" {
		t.Errorf("next left the site: %v", m)
	}
}

func TestSSOSignInRefusesAPersonWithoutRole(t *testing.T) {
	f := newSSOFixture(t)
	_, resp, page := f.signIn(t, oidctest.Carol, "/")
	if resp.status != http.StatusForbidden || !strings.Contains(page, "sign-in refused: carol@example.com (groups: accounting) has no role in any vault (prod, staging)") ||
		!strings.Contains(page, "Sign in with Test SSO") {
		t.Fatalf("carol: %d\n%s", resp.status, page)
	}
	for _, c := range resp.cookies {
		if c.Name == "cairn_session" {
			t.Errorf("carol got a session: %+v", c)
		}
	}
}

// TestSSOCallbackRefusesWhatItDidNotStart: a tampered state is refused without using the code,
// and the pending sign-in is spent; the provider's errors show on the sign-in page; a callback
// without a pending sign-in is refused.
func TestSSOCallbackRefusesWhatItDidNotStart(t *testing.T) {
	f := newSSOFixture(t)
	toCallback := func(u *url.URL) bool { return u.Path == "/signin/sso/callback" }
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	b := f.browser(t, toCallback)
	resp, err := f.idp.LogIn(ctx, b.client, f.srv.URL+"/signin/sso?next=/jobs", oidctest.Alice)
	must(t, err)
	_ = resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || callback.Query().Get("code") == "" || callback.Query().Get("state") == "" {
		t.Fatalf("the provider's answer: %d to %q (%v)", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	tampered := callback.Query()
	tampered.Set("state", tampered.Get("state")+"x")
	res, page := b.get("/signin/sso/callback?" + tampered.Encode())
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "does not belong to the sign-in this browser started") {
		t.Fatalf("tampered state: %d\n%s", res.StatusCode, page)
	}
	res, page = b.get("/signin/sso/callback?" + callback.RawQuery)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not started in this browser") {
		t.Fatalf("the genuine answer after a tampered one: %d\n%s", res.StatusCode, page)
	}
	if tokens := f.ssoTokens(t); len(tokens) != 0 {
		t.Fatalf("tokens: %+v", tokens)
	}

	// The provider's refusal: a sign-in is started, and the provider answers with an error.
	b = f.browser(t, func(u *url.URL) bool { return strings.HasPrefix(u.String(), f.idp.Issuer) })
	res, _ = b.get("/signin/sso?next=/jobs")
	auth, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusSeeOther || auth.Query().Get("code_challenge_method") != "S256" || auth.Query().Get("code_challenge") == "" ||
		auth.Query().Get("nonce") == "" || auth.Query().Get("client_id") != oidctest.WebClientID || !strings.HasPrefix(auth.String(), f.idp.Issuer) {
		t.Fatalf("the sign-in's start: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	q := url.Values{"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {auth.Query().Get("state")}}
	res, page = b.get("/signin/sso/callback?" + q.Encode())
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "the provider refused the sign-in: access_denied (the user said no)") ||
		!strings.Contains(page, `name="next" value="/jobs"`) {
		t.Fatalf("the provider's error: %d\n%s", res.StatusCode, page)
	}

	res, page = f.browser(t, nil).get("/signin/sso/callback?code=x&state=y")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not started in this browser") {
		t.Fatalf("a callback without a sign-in: %d\n%s", res.StatusCode, page)
	}
	// A pending sign-in's cookie changed by the browser, or made up, is no sign-in.
	b = f.browser(t, func(u *url.URL) bool { return strings.HasPrefix(u.String(), f.idp.Issuer) })
	res, _ = b.get("/signin/sso")
	auth, _ = url.Parse(res.Header.Get("Location"))
	var sealed string
	for _, c := range res.Cookies() {
		if c.Name == "cairn_sso" {
			sealed = c.Value
		}
	}
	if sealed == "" {
		t.Fatal("no cairn_sso cookie")
	}
	for name, value := range map[string]string{"changed": sealed[:len(sealed)-2] + "AA", "made up": "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/signin/sso/callback?state="+url.QueryEscape(auth.Query().Get("state"))+"&code=x", nil)
		must(t, err)
		req.AddCookie(&http.Cookie{Name: "cairn_sso", Value: value})
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not started in this browser") {
			t.Errorf("%s cookie: %d\n%s", name, resp.StatusCode, body)
		}
	}
}

func TestNoSSOButtonWithoutSSO(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	if _, page := b.get("/signin"); strings.Contains(page, "sso-signin") {
		t.Errorf("a single sign-on button without single sign-on:\n%s", page)
	}
	if res, page := b.get("/signin/sso"); res.StatusCode != http.StatusNotFound || !strings.Contains(page, "no single sign-on configured") {
		t.Errorf("/signin/sso without single sign-on: %d\n%s", res.StatusCode, page)
	}
}
