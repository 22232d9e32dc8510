package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// signInData is the sign-in page's data.
type signInData struct {
	Next  string
	Error string
	// SSO names the OpenID provider of the single sign-on button ("": none); SSOVault is the
	// vault it signs in to ("": the person's only one).
	SSO, SSOVault string
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.renderSignIn(w, r, http.StatusOK, safeNext(q.Get("next")), q.Get("vault"), "")
}

// renderSignIn shows the sign-in page with an error ("": none).
func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, next, vault, errMsg string) {
	data := signInData{Next: next, Error: errMsg, SSOVault: vault}
	if s.sso != nil {
		data.SSO = s.sso.Config().ProviderName
	}
	s.render(w, r, status, "signin", "", view{Title: "Sign in", Data: data})
}

// signIn checks the token with the API's whoami and starts a session for its principal.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if err := sameOrigin(r); err != nil {
		s.renderSignIn(w, r, http.StatusForbidden, next, "", err.Error())
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		s.renderSignIn(w, r, http.StatusUnprocessableEntity, next, "",
			"enter an API token (cairn token create makes one; a new vault writes its first to admin.token in its data directory)")
		return
	}
	c, err := s.clientFor(token)
	if err != nil {
		s.renderSignIn(w, r, http.StatusInternalServerError, next, "", err.Error())
		return
	}
	me, err := c.WhoAmI(r.Context())
	if err != nil {
		status, msg := http.StatusInternalServerError, "the vault could not check the token: "+err.Error()
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError {
			status, msg = apiErr.Status, "sign-in refused: "+apiErr.Message
		}
		s.renderSignIn(w, r, status, next, "", msg)
		return
	}
	if me.Role == access.RoleAdmin {
		s.renderSignIn(w, r, http.StatusForbidden, next, "",
			"this is the server administrator's token, which manages vaults (cairn vault create, list, delete) and reads none: sign in with a token of a vault")
		return
	}
	sess, err := s.sessions.create(r.Context(), sessionVault{Vault: me.Vault, Name: me.Name, Role: me.Role, Token: token}, nil)
	if err != nil {
		s.renderSignIn(w, r, http.StatusInternalServerError, next, "", "the vault could not start your session: "+err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.sessions.lookup(r); sess != nil && sameOrigin(r) == nil && sess.validCSRF(r.PostFormValue("csrf")) {
		if err := s.sessions.end(r.Context(), sess.id); err != nil {
			s.log.ErrorContext(r.Context(), "sign-in session not ended", "error", err.Error())
		}
		for _, v := range sess.vaults {
			if v.SSO {
				s.revokeSSO(r.Context(), v.Token)
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in destination on this site: a path of this origin, without the
// characters browsers drop or read as a slash (tabs, newlines and other controls, backslashes),
// which would turn "/<tab>/evil.example" into another host.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(c rune) bool {
		return c < 0x20 || c == 0x7f || c == '\\'
	}) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

const themeCookie = "cairn_theme"

// setTheme keeps the light/dark choice in a cookie; "auto" follows the system.
func (s *Server) setTheme(w http.ResponseWriter, r *http.Request, _ *session, _ *client.Client) error {
	theme := r.PostFormValue("theme")
	if theme != "light" && theme != "dark" {
		theme = ""
	}
	http.SetCookie(w, &http.Cookie{Name: themeCookie, Value: theme, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

func themeOf(r *http.Request) string {
	if c, err := r.Cookie(themeCookie); err == nil && (c.Value == "light" || c.Value == "dark") {
		return c.Value
	}
	return ""
}
