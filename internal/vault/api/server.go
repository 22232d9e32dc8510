package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// maxBodyBytes caps request bodies; larger ones get 413.
const maxBodyBytes = 1 << 20

// Server is the vault's HTTP API (versioned under /api/v1).
type Server struct {
	st  *store.Store
	log *slog.Logger
	now func() time.Time
}

// NewServer returns the API over st. log receives the audit lines and internal errors (nil
// discards them); now is the clock for request durations (nil means time.Now).
func NewServer(st *store.Store, log *slog.Logger, now func() time.Time) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Server{st: st, log: log, now: now}
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
		sw := &statusWriter{ResponseWriter: w}
		r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
		p, err := s.authorize(r, rt.minRole)
		if err == nil {
			err = rt.handle(sw, r, p)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
		s.audit(r, p, sw.code(), s.now().Sub(start))
	})
}

// audit logs one request with fixed keys. It never sees the bearer token.
func (s *Server) audit(r *http.Request, p store.Principal, status int, d time.Duration) {
	s.log.InfoContext(r.Context(), "api request", "vault", p.Vault, "principal", p.Name, "role", p.Role,
		"method", r.Method, "path", r.URL.Path, "status", status, "duration", d)
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
