package testenv

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// SignInToCenter signs in to the Backup center at base (http://host:port) with token, as a
// browser's form does, and returns the session cookie.
func SignInToCenter(t testing.TB, base, token string) *http.Cookie {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/signin", strings.NewReader(url.Values{"token": {strings.TrimSpace(token)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "cairn_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in at %s answered %s without a session", base, resp.Status)
	return nil
}

// SignedIn tells whether the Backup center at base takes the session cookie.
func SignedIn(t testing.TB, base string, cookie *http.Cookie) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
