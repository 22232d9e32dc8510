package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

var newTokenSecret = regexp.MustCompile(`<code id="new-token-secret">([^<]+)</code>`)

// TestTokensPage: a contributor makes a token (its secret shown once), a person signs in with it,
// and when the contributor revokes it that person's next page is the sign-in page; readers have
// no Tokens page.
func TestTokensPage(t *testing.T) {
	f := newFixture(t)
	admin := f.signedIn(t, access.RoleContributor)
	if _, body := admin.get("/"); !strings.Contains(body, `href="/tokens"`) {
		t.Fatal("a contributor has no Tokens link")
	}
	_, body := admin.post("/tokens", url.Values{"csrf": {admin.csrf()}, "name": {"carol"}, "role": {"operator"}, "expiresIn": {"7d"}})
	m := newTokenSecret.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `data-token="carol"`) || !strings.Contains(body, "Token carol (operator)") {
		t.Fatalf("after making a token:\n%s", body)
	}
	if _, again := admin.get("/tokens"); strings.Contains(again, m[1]) {
		t.Fatal("the secret is shown twice")
	}

	carol := f.browser(t)
	if res, _ := carol.post("/signin", url.Values{"token": {m[1]}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("carol signs in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := carol.get("/instances"); res.StatusCode != http.StatusOK {
		t.Fatalf("carol's page: %d", res.StatusCode)
	}
	if res, _ := admin.post("/tokens/carol/revoke", url.Values{"csrf": {admin.csrf()}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if res, _ := carol.get("/instances"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Fatalf("carol after the revocation: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}

	_, body = admin.post("/tokens", url.Values{"csrf": {admin.csrf()}, "name": {"Bad Name"}, "role": {"reader"}})
	if !strings.Contains(body, "use lower-case letters") {
		t.Errorf("a bad name:\n%s", body)
	}
	reader := f.signedIn(t, access.RoleReader)
	if _, body := reader.get("/"); strings.Contains(body, `href="/tokens"`) {
		t.Error("a reader has a Tokens link")
	}
	if res, _ := reader.get("/tokens"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a reader's tokens page: %d", res.StatusCode)
	}
}
