package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestSignInNextStaysOnThisSite: a next that a browser would turn into another host (a tab, a
// newline or a backslash where a slash would be, a scheme, two slashes) signs in to the overview.
func TestSignInNextStaysOnThisSite(t *testing.T) {
	f := newFixture(t)
	for _, next := range []string{"/\t/evil.example/", "/\n/evil.example", "/\r\n/evil.example", `/\evil.example`, "//evil.example",
		"https://evil.example/", "/%09/evil.example/x\x7f", "javascript:alert(1)"} {
		b := f.browser(t)
		res, _ := b.post("/signin", url.Values{"token": {f.tokens[access.RoleReader]}, "next": {next}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Errorf("next %q: %d to %q, want the overview", next, res.StatusCode, res.Header.Get("Location"))
		}
	}
	b := f.browser(t)
	if res, _ := b.post("/signin", url.Values{"token": {f.tokens[access.RoleReader]}, "next": {"/jobs?state=failed"}}); res.Header.Get("Location") != "/jobs?state=failed" {
		t.Errorf("a path of this site: to %q", res.Header.Get("Location"))
	}
}

// TestFormsAreCapped: a form body over 1 MiB is refused with 413, signed in or not.
func TestFormsAreCapped(t *testing.T) {
	f := newFixture(t)
	big := url.Values{"token": {f.tokens[access.RoleReader]}, "pad": {strings.Repeat("x", 2<<20)}}
	b := f.browser(t)
	if res, body := b.post("/signin", big); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "the form is larger than 1048576 bytes") {
		t.Errorf("a 2 MiB sign-in: %d %s", res.StatusCode, body)
	}
	op := f.signedIn(t, access.RoleOperator)
	if res, _ := op.post("/instances/shop/backup", url.Values{"csrf": {op.csrf()}, "pad": {strings.Repeat("x", 2<<20)}}); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB back-up-now form: %d", res.StatusCode)
	}
}
