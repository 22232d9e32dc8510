package ui

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/sso"
)

// Single sign-on with the authorization code flow and PKCE (docs/design/vault.md, "Single
// sign-on"): /signin/sso sends the browser to the provider, /signin/sso/callback takes it back,
// and the API exchanges the provider's ID token for the vault token the session signs in with.
const (
	ssoStartPath    = "/signin/sso"
	ssoCallbackPath = "/signin/sso/callback"
	// ssoCookie carries the browser's pending sign-in, sealed, while it is at the provider.
	ssoCookie = "cairn_sso"
	// pendingSSOLife is how long a pending sign-in waits for the provider's answer.
	pendingSSOLife = 10 * time.Minute
	// maxNextBytes bounds the destination a pending sign-in carries (a longer one goes to /).
	maxNextBytes = 1024
)

// pendingSSO is a sign-in at the provider: what the callback checks and where it goes after.
type pendingSSO struct {
	Login       sso.Login `json:"login"`
	Next        string    `json:"next"`
	Vault       string    `json:"vault,omitempty"`
	RedirectURL string    `json:"redirectURL"`
	Expires     time.Time `json:"expires"`
}

// ssoSealer seals pending sign-ins into their cookie with AES-GCM under a key every replica
// shares: the vault keeps nothing per sign-in (requests to /signin/sso cannot fill its memory),
// the browser cannot read or change what it carries (the PKCE verifier, the nonce), and the
// provider's redirect may come back to any replica.
type ssoSealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

func newSSOSealer(key []byte, now func() time.Time) (*ssoSealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("ui: the single sign-on key has %d bytes, not 32", len(key))
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &ssoSealer{aead: aead, now: now}, nil
}

// seal returns p, expiring pendingSSOLife from now, as a cookie value.
func (s *ssoSealer) seal(p pendingSSO) (string, error) {
	p.Expires = s.now().Add(pendingSSOLife)
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return sealText(s.aead, plain, []byte(ssoCookie))
}

// open returns the pending sign-in a cookie value seals, or nil when it is not one of this
// vault's or has expired.
func (s *ssoSealer) open(value string) *pendingSSO {
	plain, ok := openText(s.aead, value, []byte(ssoCookie))
	if !ok {
		return nil
	}
	var p pendingSSO
	if json.Unmarshal(plain, &p) != nil || !s.now().Before(p.Expires) {
		return nil
	}
	return &p
}

// redirectURL is where the provider sends the browser back: the configured one, else this
// request's scheme and host.
func (s *Server) redirectURL(r *http.Request) string {
	if u := s.sso.Config().RedirectURL; u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + ssoCallbackPath
}

// ssoStart sends the browser to the provider with a new state, nonce and PKCE challenge.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next, vault := safeNext(q.Get("next")), q.Get("vault")
	if s.sso == nil {
		s.renderSignIn(w, r, http.StatusNotFound, next, vault, "this vault has no single sign-on configured: sign in with an API token")
		return
	}
	if len(next) > maxNextBytes {
		next = "/"
	}
	p := pendingSSO{Login: sso.NewLogin(), Next: next, Vault: vault, RedirectURL: s.redirectURL(r)}
	authURL, err := s.sso.AuthCodeURL(r.Context(), p.RedirectURL, p.Login)
	if err != nil {
		s.log.ErrorContext(r.Context(), "single sign-on: no authorization URL", "error", err.Error())
		s.renderSignIn(w, r, http.StatusServiceUnavailable, next, vault, err.Error())
		return
	}
	sealed, err := s.pending.seal(p)
	if err != nil {
		s.renderSignIn(w, r, http.StatusInternalServerError, next, vault, err.Error())
		return
	}
	// Lax, not Strict: the cookie must come back on the provider's redirect, a cross-site
	// top-level GET. It holds the sealed pending sign-in and nothing else, for 10 minutes.
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: sealed, Path: ssoStartPath, MaxAge: int(pendingSSOLife.Seconds()), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// ssoCallback checks the provider's answer against the browser's pending sign-in, trades its code
// for an ID token, has the API mint the person's vault token and starts their session.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: ssoStartPath, MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	// The cookie is cleared above whatever happens: each pending sign-in is answered once.
	var p *pendingSSO
	if c, err := r.Cookie(ssoCookie); err == nil {
		p = s.pending.open(c.Value)
	}
	q := r.URL.Query()
	if s.sso == nil || p == nil {
		s.renderSignIn(w, r, http.StatusBadRequest, "/", "", "this sign-in was not started in this browser, or took more than 10 minutes: sign in again")
		return
	}
	fail := func(status int, msg string) { s.renderSignIn(w, r, status, p.Next, p.Vault, msg) }
	if !p.Login.StateMatches(q.Get("state")) {
		fail(http.StatusBadRequest, "the provider's answer does not belong to the sign-in this browser started (its state differs): sign in again")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "the provider refused the sign-in: " + e
		if d := q.Get("error_description"); d != "" {
			msg += " (" + d + ")"
		}
		fail(http.StatusUnauthorized, msg)
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(http.StatusBadRequest, "the provider's answer holds no code: sign in again")
		return
	}
	raw, id, err := s.sso.Exchange(r.Context(), p.RedirectURL, code, p.Login)
	if err != nil {
		status := http.StatusBadGateway
		if _, ok := errors.AsType[*sso.InvalidTokenError](err); ok {
			status = http.StatusUnauthorized
		}
		s.log.WarnContext(r.Context(), "single sign-on refused", "error", err.Error())
		fail(status, "sign-in refused: "+err.Error())
		return
	}
	// The API decides the role and mints the token, as for the CLI's sign-in: first in the vault
	// the pages will show (the one named, else the first the person has a role in), then in every
	// other vault where they have one, for the vault switcher.
	anonymous, err := s.clientFor("")
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	others := slices.Sorted(maps.Keys(s.sso.Config().Roles(id.Groups)))
	first := p.Vault
	if first == "" && len(others) > 0 {
		first = others[0]
	}
	tok, err := anonymous.SSOToken(r.Context(), raw, first)
	if err != nil {
		status, msg := http.StatusInternalServerError, "the vault could not sign you in: "+err.Error()
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError {
			status, msg = apiErr.Status, "sign-in refused: "+apiErr.Message
		}
		fail(status, msg)
		return
	}
	shown := sessionVault{Vault: tok.Vault, Name: tok.Name, Role: tok.Role, Token: tok.Token, SSO: true}
	var all []sessionVault
	for _, v := range others {
		if v == tok.Vault {
			continue
		}
		other, err := anonymous.SSOToken(r.Context(), raw, v)
		if err != nil {
			s.log.WarnContext(r.Context(), "single sign-on: no token minted in another vault of the person's", "vault", v, "error", err.Error())
			continue
		}
		all = append(all, sessionVault{Vault: other.Vault, Name: other.Name, Role: other.Role, Token: other.Token, SSO: true})
	}
	sess, err := s.sessions.create(r.Context(), shown, all)
	if err != nil {
		for _, v := range append(all, shown) {
			s.revokeSSO(r.Context(), v.Token)
		}
		fail(http.StatusInternalServerError, "the vault could not start your session: "+err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	// A page that goes on by itself rather than a redirect: browsers do not send a Strict cookie
	// on a redirect that a cross-site navigation (the provider's) started, and would show the
	// sign-in page again.
	s.render(w, r, http.StatusOK, "signedin", "", view{Title: "Signed in", Refresh: p.Next,
		Data: struct{ Next, Who, Role, Vault string }{p.Next, ssoUser(tok.Name), tok.Role, tok.Vault}})
}

// revokeSSO signs a session's single sign-on token out at the API.
func (s *Server) revokeSSO(ctx context.Context, token string) {
	c, err := s.clientFor("")
	if err == nil {
		err = c.RevokeSSOToken(ctx, token)
	}
	if err != nil {
		s.log.WarnContext(ctx, "single sign-on: the signed-out token was not revoked", "error", err.Error())
	}
}

// ssoUser is the person a single sign-on token's name ("oidc:<user>:<random>") names, or the name.
func ssoUser(name string) string {
	return strings.TrimPrefix(access.Person(name), access.SSOPrefix)
}
