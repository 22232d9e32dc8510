package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/sso"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// maxBodyBytes caps request bodies; larger ones get 413.
const maxBodyBytes = 1 << 20

// Server is the vault's HTTP API (versioned under /api/v1).
type Server struct {
	st       *store.Store
	jobs     *jobs.Lifecycle
	notifier *notify.Notifier
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	refused  *refusedLimiter
}

// Config tunes the API; the zero value works.
type Config struct {
	// Logger receives the request lines and internal errors (nil discards them).
	Logger *slog.Logger
	// Now is the clock (nil means time.Now).
	Now func() time.Time
	// Lease is how long a claimed job stays the agent's without a progress report (default 60 s).
	Lease time.Duration
	// ClaimWait is how long a claim waits for a job before answering 204 (default 25 s).
	ClaimWait time.Duration
	// Draining, once closed, has waiting claims answer 204 at once: the server is stopping, and
	// the agent asks again, of another replica, instead of holding the shutdown up.
	Draining <-chan struct{}
	// Prices turn usage into a cost estimate.
	Prices vaultv1.Prices
	// TrustGrant renders the manifest that gives a registered cluster's agent its identity, with
	// the grant asked for (trustgrant.Grants).
	TrustGrant func(cluster, grant string) (string, error)
	// ContentTTL is how long an uploaded file waits for its download (default 10 minutes).
	ContentTTL time.Duration
	// FilesWait is how long a browse or fetch request waits for its job (default 30 s).
	FilesWait time.Duration
	// OnJobEnd, if set, is told of each job an agent completes through this server: its kind,
	// final state and how long it ran.
	OnJobEnd func(kind, state string, ran time.Duration)
	// Notifier sends the test notifications (default: one over the store, on Now).
	Notifier *notify.Notifier
	// TokenLifetime is how long a token works when its maker does not say (default
	// DefaultTokenLifetime).
	TokenLifetime time.Duration
	// RequireApproval holds destructive calls until a second contributor approves them
	// (docs/design/vault.md, "Approvals"); ApprovalTTL is how long they wait (default
	// DefaultApprovalTTL).
	RequireApproval bool
	ApprovalTTL     time.Duration
	// SoftDeleteDays is how long recovery points a person deleted are kept, and can be brought
	// back, before they are purged (default DefaultSoftDeleteDays).
	SoftDeleteDays int
	// SSO, if set, is the OpenID provider people sign in with (docs/design/vault.md, "Single
	// sign-on"): the API then exchanges its ID tokens for vault tokens (/api/v1/sso).
	SSO *sso.Provider
}

// NewServer returns the API over st.
func NewServer(st *store.Store, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.ClaimWait <= 0 {
		cfg.ClaimWait = 25 * time.Second
	}
	if cfg.ApprovalTTL <= 0 {
		cfg.ApprovalTTL = DefaultApprovalTTL
	}
	if cfg.SoftDeleteDays <= 0 {
		cfg.SoftDeleteDays = DefaultSoftDeleteDays
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.ContentTTL <= 0 {
		cfg.ContentTTL = 10 * time.Minute
	}
	if cfg.FilesWait <= 0 {
		cfg.FilesWait = 30 * time.Second
	}
	if cfg.Prices.Currency == "" {
		cfg.Prices.Currency = "USD"
	}
	if cfg.Prices.CopyGiBMonth < 0 {
		// Copies live in the backup storage: priced as it is unless told otherwise.
		cfg.Prices.CopyGiBMonth = cfg.Prices.StorageGiBMonth
	}
	lc := jobs.New(st, cfg.Now)
	if cfg.OnJobEnd != nil {
		lc.OnEnd(func(kind jobs.Kind, state jobs.State, ran time.Duration) {
			cfg.OnJobEnd(string(kind), string(state), ran)
		})
	}
	if cfg.Notifier == nil {
		cfg.Notifier = notify.New(st, notify.Options{Logger: cfg.Logger, Now: cfg.Now})
	}
	return &Server{st: st, jobs: lc, notifier: cfg.Notifier, log: cfg.Logger, now: cfg.Now, cfg: cfg, refused: newRefusedLimiter()}
}

// Handler returns the API: the routes of the route table, and JSON 404 and 405 errors for
// requests that match none of them.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	methods := map[string]bool{}
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.pattern, s.serve(rt))
		methods[rt.method] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		s.serveUnmatched(w, r, mux, methods)
	})
}

// serve wraps a route's handler: it caps the body, authenticates and authorises the caller, turns
// a returned error into a JSON error and writes the audit line.
func (s *Server) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		r = withAuditNote(r)
		sw := &statusWriter{ResponseWriter: w}
		if r.Body == nil { // an in-process client's request without a body
			r.Body = http.NoBody
		}
		r.Body = http.MaxBytesReader(sw, r.Body, bodyLimit(rt))
		p, err := s.principal(r, rt)
		if err == nil && rt.minRole == access.RoleAgent {
			r, err = negotiate(sw, r)
		}
		held := false
		if err == nil {
			held, err = s.holdForApproval(sw, r, rt, p)
		}
		if err == nil && !held {
			err = rt.handle(sw, r, p)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
		s.audit(r, rt, p, sw.code(), s.now().Sub(start))
	})
}

// audit logs one request with fixed keys, and writes an audit entry for every call that changes
// something and every refused call (those without a known token at most refusedPerMinute a
// minute per source, into every vault: no vault is known). It never sees the bearer token.
func (s *Server) audit(r *http.Request, rt route, p access.Principal, status int, d time.Duration) {
	source := clientAddress(r)
	s.log.InfoContext(r.Context(), "api request", "vault", p.Vault, "principal", p.Name, "role", p.Role,
		"method", r.Method, "path", r.URL.Path, "status", status, "duration", d, "source", source)
	refused := status == http.StatusUnauthorized || status == http.StatusForbidden
	if !refused && (r.Method == http.MethodGet && !auditedReads[rt.pattern] || rt.quiet) {
		return
	}
	entry := store.AuditEntry{Principal: p.Name, Role: p.Role, Operation: rt.method + " " + rt.pattern,
		Object: auditObject(r), Status: status, Source: source}
	vaults := []string{p.Vault}
	if also := auditAlsoIn(r); also != "" {
		vaults = append(vaults, also)
	}
	if p.Vault == "" && !p.IsAdmin() {
		if rt.minRole == public || !refused || !s.refused.allow(source, s.now()) {
			return
		}
		all, err := s.st.Vaults(context.WithoutCancel(r.Context()))
		if err != nil {
			s.log.ErrorContext(r.Context(), "audit entry lost", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
			return
		}
		vaults = all
	}
	for _, v := range vaults {
		if err := s.st.AppendAudit(context.WithoutCancel(r.Context()), v, entry); err != nil {
			s.log.ErrorContext(r.Context(), "audit entry lost", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
		}
	}
}

// statusWriter remembers the status code written, for the audit line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
