package vault

import (
	"context"
	"net"
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/metrics"
	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/ui"
)

// handler serves the API under /api/, Prometheus metrics at /metrics and the Backup center, the
// web dashboard, everywhere else; m times every request.
func handler(ctx context.Context, st *store.Store, opts Options, m *metrics.Metrics) (http.Handler, error) {
	apiHandler := api.NewServer(st, opts.API).Handler()
	cfg := ui.Config{API: apiHandler, Logger: opts.Logger, Now: opts.Now, SSO: opts.API.SSO, Sessions: Sessions(st)}
	if cfg.SSO != nil {
		var err error
		if cfg.PendingKey, err = sharedKey(ctx, st, pendingSignInKey); err != nil {
			return nil, err
		}
	}
	center, err := ui.New(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", center.Handler())
	return m.Instrument(mux), nil
}

// backupCenterURL is where a browser on this machine opens the Backup center.
func backupCenterURL(addr string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "::" || host == "0.0.0.0" || host == "") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return scheme + "://" + addr + "/"
}
