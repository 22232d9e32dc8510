package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/sso"
)

//go:embed static
var staticFiles embed.FS

// Config is what the Backup center needs; API is required.
type Config struct {
	// API is the vault's API handler (api.Server.Handler); every read and action goes through it.
	API http.Handler
	// Logger receives internal errors (nil discards them).
	Logger *slog.Logger
	// Now is the clock (nil means time.Now).
	Now func() time.Time
	// SSO, if set, is the OpenID provider people may sign in with (docs/design/vault.md, "Single
	// sign-on"); the API must have the same one.
	SSO *sso.Provider
	// Sessions keeps the sign-in sessions (required).
	Sessions SessionStore
	// PendingKey seals the single sign-ons in progress into their cookie: 32 bytes, the same on
	// every replica (required with SSO).
	PendingKey []byte
}

// Server serves the Backup center.
type Server struct {
	api      http.Handler
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	pages    pages
	sso      *sso.Provider
	pending  *ssoSealer
}

// New returns the Backup center over the API handler in cfg.
func New(cfg Config) (*Server, error) {
	if cfg.API == nil {
		return nil, errors.New("ui: the API handler is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	if cfg.Sessions == nil {
		return nil, errors.New("ui: the session store is required")
	}
	srv := &Server{api: cfg.API, log: cfg.Logger, now: cfg.Now, sessions: &sessions{st: cfg.Sessions, now: cfg.Now}, pages: p, sso: cfg.SSO}
	if cfg.SSO != nil {
		if srv.pending, err = newSSOSealer(cfg.PendingKey, cfg.Now); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// pageHandler serves one page or action for a signed-in person; c calls the API as them. It
// writes the response on success; on failure it writes nothing and returns the error.
type pageHandler func(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error

// Handler returns the Backup center's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /signin", s.signInForm)
	mux.HandleFunc("POST /signin", s.signIn)
	mux.HandleFunc("POST /signout", s.signOut)
	mux.HandleFunc("GET "+ssoStartPath, s.ssoStart)
	mux.HandleFunc("GET "+ssoCallbackPath, s.ssoCallback)
	for pattern, h := range map[string]pageHandler{
		"GET /{$}":                            s.overview,
		"GET /clusters":                       s.clusters,
		"GET /clusters/{name}":                s.cluster,
		"GET /instances":                      s.instances,
		"GET /instances/{name}":               s.instance,
		"POST /instances/{name}/backup":       s.backupNow,
		"POST /instances/{name}/validate":     s.validateInstance,
		"POST /instances/{name}/test-restore": s.testRestoreInstance,
		"POST /instances/{name}/stop":         s.stopInstance,
		"POST /instances/{name}/resume":       s.resumeInstance,
		"GET /policies":                       s.policies,
		"GET /recovery-points":                s.recoveryPoints,
		"GET /recovery-points/{name}":         s.recoveryPoint,

		"POST /recovery-points/{name}/verify":                          s.verifyRecoveryPoint,
		"POST /recovery-points/{name}/delete":                          s.deleteRecoveryPoint,
		"POST /recovery-points/{name}/undelete":                        s.undeleteRecoveryPoint,
		"GET /recovery-points/{name}/files/{namespace}/{claim}":        s.browseFiles,
		"POST /recovery-points/{name}/files/{namespace}/{claim}/fetch": s.fetchFile,
		"GET /jobs/{id}/content":                                       s.jobContent,

		"GET /restore":            s.restoreForm,
		"POST /restore":           s.restore,
		"GET /jobs":               s.jobs,
		"GET /jobs/{id}":          s.job,
		"GET /jobs/{id}/live":     s.jobLive,
		"POST /jobs/{id}/cancel":  s.cancelJob,
		"POST /jobs/{id}/restore": s.restoreForReal,
		"GET /audit":              s.audit,

		"GET /notifications":                    s.notifications,
		"POST /notifications/rules/{name}/test": s.testNotification,

		"GET /approvals":                  s.approvals,
		"POST /approvals/{id}/{decision}": s.decideApproval,
		"GET /tokens":                     s.tokens,
		"POST /tokens":                    s.createToken,
		"POST /tokens/{name}/revoke":      s.revokeToken,

		"GET /vaults":         s.vaults,
		"POST /vaults/switch": s.switchVault,
		"POST /vaults/add":    s.addVault,

		"GET /search": s.search,
		"POST /theme": s.setTheme,
		"GET /":       s.notFound,
	} {
		mux.Handle(pattern, s.signedIn(h))
	}
	return securityHeaders(limitForms(mux))
}

// signedIn runs h for the request's session: without one, the browser goes to the sign-in page;
// a POST must come from this site (Origin) and carry the session's CSRF token.
func (s *Server) signedIn(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.sessions.lookup(r)
		if err != nil {
			s.log.ErrorContext(r.Context(), "sign-in session not read", "error", err.Error())
			http.Error(w, "the vault could not read your sign-in session: try again", http.StatusServiceUnavailable)
			return
		}
		if sess == nil {
			s.toSignIn(w, r)
			return
		}
		if r.Method == http.MethodPost {
			if err := sameOrigin(r); err != nil {
				s.renderError(w, r, sess, http.StatusForbidden, err.Error())
				return
			}
			if !sess.validCSRF(r.PostFormValue("csrf")) {
				s.renderError(w, r, sess, http.StatusForbidden, "the form is stale or was not sent by the Backup center: reload the page and try again")
				return
			}
		}
		c, err := s.clientFor(sess.Token)
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		if err := h(w, r, sess, c); err != nil {
			s.fail(w, r, sess, err)
		}
	})
}

// clientFor is an API client with token that calls the vault's API handler in process.
func (s *Server) clientFor(token string) (*client.Client, error) {
	// Beyond the API's own waits (a browse waits for its job up to 30 s).
	return client.New("http://vault.in-process", token, &http.Client{Transport: inProcess{s.api}, Timeout: 45 * time.Second})
}

// fail answers an error of a page handler: the API's refusals are shown with their message; a
// token the vault no longer knows ends the session.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	var apiErr *client.APIError
	var held *client.ApprovalPending
	switch {
	case errors.As(err, &held):
		http.Redirect(w, r, "/approvals?held="+strconv.FormatInt(held.Request.ID, 10), http.StatusSeeOther)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		// The vault shown stopped accepting the session's token: the session goes on with its
		// other vaults, if it has any.
		gone := sess.Vault
		if sess.dropShown() {
			if err := s.sessions.update(r.Context(), sess); err != nil {
				s.log.ErrorContext(r.Context(), "sign-in session not changed", "error", err.Error())
			}
			s.redirect(w, r, "/vaults?signedOut="+url.QueryEscape(gone))
			return
		}
		if err := s.sessions.end(r.Context(), sess.id); err != nil {
			s.log.ErrorContext(r.Context(), "sign-in session not ended", "error", err.Error())
		}
		s.toSignIn(w, r)
	case errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError:
		s.renderError(w, r, sess, apiErr.Status, apiErr.Message)
	case errors.Is(err, context.Canceled):
	default:
		s.log.ErrorContext(r.Context(), "backup center page failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		s.renderError(w, r, sess, http.StatusInternalServerError, "the vault could not answer: "+err.Error())
	}
}

// toSignIn sends the browser to the sign-in page, to come back here after.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/signin"
	if r.Method == http.MethodGet && r.URL.Path != "/" && !strings.HasSuffix(r.URL.Path, "/live") {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	s.redirect(w, r, target)
}

// redirect sends the browser to target (a path of this site) after a refusal: an htmx fragment's
// request is told to load it as a whole page (HX-Redirect), not to swap it in.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, sess *session, _ *client.Client) error {
	s.renderError(w, r, sess, http.StatusNotFound, "there is no page at "+r.URL.Path)
	return nil
}

// sameOrigin refuses a state-changing request that did not come from a page of this server.
func sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return errors.New("the request carries no Origin: send it from the Backup center's own pages")
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host {
		return fmt.Errorf("the request comes from %q, not from this vault (%s): send it from the Backup center's own pages", origin, r.Host)
	}
	return nil
}

// securityHeaders keeps the pages to their own origin: no frames, no scripts or styles from
// elsewhere, no inline script.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}
