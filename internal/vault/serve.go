package vault

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/dbcopy"
	"github.com/cairnbackup/cairn/internal/vault/leader"
	"github.com/cairnbackup/cairn/internal/vault/metrics"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/scheduler"
	"github.com/cairnbackup/cairn/internal/vault/sso"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Options configure a vault server.
type Options struct {
	// DataDir holds the SQLite database (unless Database is set) and, after the first start,
	// admin.token.
	DataDir string
	// Database, if set, is a PostgreSQL URL (postgres://...) to use instead of SQLite.
	Database string
	// Listen is the address to serve on, e.g. 127.0.0.1:8443 (port 0 picks a free one).
	Listen string
	// TLSCert and TLSKey, if both set, serve HTTPS.
	TLSCert, TLSKey string
	// Vault names the first vault of a new server (default DefaultVault); on a server that has
	// vaults, it must be one of them if set.
	Vault string
	// Ready, if set, is called with the address once the server listens.
	Ready func(addr string)
	// Tick is how often the scheduler looks for due backups, expired recovery points and silent
	// agents, and the notifier for events to send (default 15 s).
	Tick time.Duration
	// API tunes the API: job leases, claim long-poll, prices, the trust grant renderer.
	API api.Config
	// Timeouts bound how long a client may take (zero: the defaults).
	Timeouts Timeouts
	// AuditRetention is how long audit entries are kept (zero: scheduler.DefaultAuditRetention).
	AuditRetention time.Duration
	// OIDCConfig, if set, is the single sign-on configuration file (docs/design/vault.md, "Single
	// sign-on"); it is checked before the vault listens.
	OIDCConfig string
	// Replica names this process among the replicas sharing the database (default: host, process
	// and random characters; docs/design/vault.md, "Replicas").
	Replica string
	// DatabaseCopies, if its Storage is set, copies the SQLite database there on a schedule.
	DatabaseCopies DatabaseCopies
	Now            func() time.Time
	Logger         *slog.Logger
}

// soleReplica is the name of the only process a SQLite vault runs in.
const soleReplica = "sqlite"

// oldContentDir, in the data dir, kept the files fetch jobs uploaded until they were downloaded,
// before they moved into the database.
const oldContentDir = "content"

// AdminTokenFile is where the first start writes the first vault's first contributor token.
const AdminTokenFile = "admin.token"

// Serve runs the vault until ctx ends.
func Serve(ctx context.Context, opts Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	var ssoConfig *sso.Config
	if opts.OIDCConfig != "" {
		c, err := sso.Load(opts.OIDCConfig)
		if err != nil {
			return err
		}
		ssoConfig = c
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if opts.Database == "" {
		unlock, err := lockDataDir(opts.DataDir)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if opts.Database != "" && opts.DatabaseCopies.Storage != "" {
		return errors.New("--db-backup-storage copies a SQLite database; back PostgreSQL up with its own tools (docs/design/vault.md, \"Backups of the vault's database\")")
	}
	st, err := store.Open(ctx, opts.Database, opts.DataDir, opts.Now)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrap(ctx, st, opts); err != nil {
		return err
	}
	if ssoConfig != nil {
		if opts.API.SSO, err = startSSO(ctx, st, ssoConfig, opts); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	opts.API.Logger, opts.API.Now = opts.Logger, opts.Now
	draining := make(chan struct{})
	opts.API.Draining = draining
	// Fetched files were kept here before they moved into the database.
	if err := os.RemoveAll(filepath.Join(opts.DataDir, oldContentDir)); err != nil {
		return fmt.Errorf("remove the old fetched files' directory: %w", err)
	}
	if opts.API.TrustGrant == nil {
		opts.API.TrustGrant = trustGrant
	}
	m := metrics.New(st, opts.Now, opts.Logger)
	copier, err := opts.DatabaseCopies.copier(ctx, st, m, opts)
	if err != nil {
		return err
	}
	opts.API.OnJobEnd = m.ObserveJob
	notifier := notify.New(st, notify.Options{Logger: opts.Logger, Now: opts.Now})
	opts.API.Notifier = notifier
	h, err := handler(ctx, st, opts, m)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: opts.Timeouts.read(), WriteTimeout: opts.Timeouts.write(),
		IdleTimeout: opts.Timeouts.idle()}
	srv.RegisterOnShutdown(sync.OnceFunc(func() { close(draining) }))
	if opts.Tick <= 0 {
		opts.Tick = 15 * time.Second
	}
	replica := opts.Replica
	switch {
	case replica != "":
	case opts.Database == "":
		// The data dir's lock keeps any other process out, so the one that holds it leads at
		// once, even over the row a killed predecessor left.
		replica = soleReplica
	default:
		replica = leader.Name()
	}
	leadCtx, stopLeading := context.WithCancel(ctx)
	elected := make(chan struct{})
	go func() {
		defer close(elected)
		e := &leader.Elector{Store: st, Role: leader.RoleScheduler, Holder: replica, Now: opts.Now, Log: opts.Logger, OnChange: m.ObserveLeading}
		e.Run(leadCtx, func(ctx context.Context) { lead(ctx, st, notifier, copier, m, opts) })
	}()
	defer func() { stopLeading(); <-elected }()
	errc := make(chan error, 1)
	go func() {
		if opts.TLSCert != "" {
			errc <- srv.ServeTLS(ln, opts.TLSCert, opts.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	opts.Logger.Info("vault serving", "addr", ln.Addr().String(), "replica", replica, "tls", opts.TLSCert != "", "dataDir", opts.DataDir,
		"backupCenter", backupCenterURL(ln.Addr().String(), opts.TLSCert != ""))
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		// A request still running, or a connection opened without a request (net/http counts
		// those as busy for 5 s): the stop goes on, as stopping is what was asked.
		opts.Logger.Warn("connections still open when the vault stopped were closed", "after", shutdownGrace.String())
		return srv.Close()
	}
	return err
}

// shutdownGrace is how long a stopping vault lets its requests finish.
const shutdownGrace = 5 * time.Second

// lead runs what one replica at a time runs, the scheduler, the notifier and the database's
// copier (if any), until ctx ends.
func lead(ctx context.Context, st *store.Store, notifier *notify.Notifier, copier *dbcopy.Copier, m *metrics.Metrics, opts Options) {
	var wg sync.WaitGroup
	wg.Go(func() { notifier.Run(ctx, opts.Tick) })
	if copier != nil {
		wg.Go(func() { copier.Run(ctx) })
	}
	sched := scheduler.New(st, opts.Now, opts.Logger)
	sched.OnTick = m.ObserveTick
	sched.AuditRetention = opts.AuditRetention
	sched.Run(ctx, opts.Tick)
	wg.Wait()
}

// DefaultVault is the first vault's name when --vault does not give one.
const DefaultVault = "default"

// ServerAdminTokenFile is where the first start writes the server administrator's first token.
const ServerAdminTokenFile = "server-admin.token"

// bootstrap makes, on a new server, the first vault (opts.Vault, default DefaultVault) and its
// first contributor token, and on a server without one the administrator's first token, each
// written to the data dir for the operator to pick up (never logged). On a server that has vaults
// it only checks that opts.Vault, if given, is one: vaults are made while the server runs.
func bootstrap(ctx context.Context, st *store.Store, opts Options) error {
	vaults, err := st.Vaults(ctx)
	if err != nil {
		return err
	}
	name := cmp.Or(opts.Vault, DefaultVault)
	switch {
	case len(vaults) == 0:
		if err := st.EnsureVault(ctx, name); err != nil {
			return err
		}
	case !slices.Contains(vaults, name) && opts.Vault != "":
		return fmt.Errorf("--vault %s: no such vault on this server (it has %s); --vault names the first vault of a new server only: make more while it runs with cairn vault create %s, logged in with the administrator's token (%s)",
			opts.Vault, strings.Join(vaults, ", "), opts.Vault, ServerAdminTokenFile)
	}
	lifetime := cmp.Or(opts.API.TokenLifetime, api.DefaultTokenLifetime)
	if slices.Contains(vaults, name) || len(vaults) == 0 {
		if err := firstToken(ctx, st, name, lifetime, opts); err != nil {
			return err
		}
	}
	return firstAdminToken(ctx, st, lifetime, opts)
}

// firstToken makes vault's first contributor token if it has none.
func firstToken(ctx context.Context, st *store.Store, vault string, lifetime time.Duration, opts Options) error {
	n, err := st.CountTokens(ctx, vault)
	if err != nil || n > 0 {
		return err
	}
	secret, err := st.CreateToken(ctx, vault, store.TokenSpec{Name: "admin", Role: access.RoleContributor, ExpiresAt: opts.Now().Add(lifetime)})
	if errors.Is(err, store.ErrExists) {
		// Another replica starting at the same moment made it, and wrote it to its data dir.
		opts.Logger.Info("first start: another replica wrote the first contributor token", "vault", vault)
		return nil
	}
	if err != nil {
		return err
	}
	path, err := writeNew(opts.DataDir, []string{AdminTokenFile, "admin-" + vault + ".token"}, []byte(secret+"\n"))
	if err != nil {
		return fmt.Errorf("write the first token of vault %q: %w", vault, err)
	}
	opts.Logger.Info("first start: a contributor token was written", "vault", vault, "file", path)
	return nil
}

// firstAdminToken makes the server administrator's first token if there is none (a new server,
// or one made before administrators existed).
func firstAdminToken(ctx context.Context, st *store.Store, lifetime time.Duration, opts Options) error {
	n, err := st.CountAdminTokens(ctx)
	if err != nil || n > 0 {
		return err
	}
	secret, err := st.CreateAdminToken(ctx, store.TokenSpec{Name: "admin", CreatedBy: "server's first start", ExpiresAt: opts.Now().Add(lifetime)})
	if errors.Is(err, store.ErrExists) {
		opts.Logger.Info("first start: another replica wrote the administrator's token")
		return nil
	}
	if err != nil {
		return err
	}
	path, err := writeNew(opts.DataDir, []string{ServerAdminTokenFile}, []byte(secret+"\n"))
	if err != nil {
		return fmt.Errorf("write the server administrator's first token: %w", err)
	}
	opts.Logger.Info("first start: the server administrator's token was written (it makes and deletes vaults)", "file", path)
	return nil
}

// startSSO checks that the single sign-on's vaults exist and tries the provider once, for the
// log: a provider that is down now is tried again at each sign-in.
func startSSO(ctx context.Context, st *store.Store, c *sso.Config, opts Options) (*sso.Provider, error) {
	vaults, err := st.Vaults(ctx)
	if err != nil {
		return nil, err
	}
	for name := range c.Vaults {
		if !slices.Contains(vaults, name) {
			return nil, fmt.Errorf("oidc-config %s: vaults.%s: no such vault in this database (it has %s)", opts.OIDCConfig, name, strings.Join(vaults, ", "))
		}
	}
	p := sso.NewProvider(c, sso.Options{Now: opts.Now})
	check, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Check(check); err != nil {
		opts.Logger.Warn("single sign-on: the provider cannot be reached now; each sign-in tries again", "issuer", c.Issuer, "error", err.Error())
	} else {
		opts.Logger.Info("single sign-on", "issuer", c.Issuer, "clientID", c.ClientID, "deviceClientID", c.DeviceClientID)
	}
	return p, nil
}

// trustGrant is the manifest a registered cluster's agent gets: its namespace, ServiceAccount and
// the roles of the grant (the same for every cluster).
func trustGrant(_, grant string) (string, error) {
	return trustgrant.YAML(grant, trustgrant.DefaultNamespace)
}

// writeNew writes data, readable by its owner only, to the first of names in dir that does not
// exist yet, and returns its path: a second vault started on the same data directory gets its own
// first token file instead of overwriting the first's.
func writeNew(dir string, names []string, data []byte) (string, error) {
	for _, name := range names {
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	}
	return "", fmt.Errorf("%s all exist in %s: move one away to start this vault", strings.Join(names, " and "), dir)
}

// Timeouts bound the connections of the vault's HTTP server, so that a slow or silent client
// cannot hold one for ever. A zero field is its default.
type Timeouts struct {
	// Read bounds reading a whole request, body included (default 10 min: an agent uploads a
	// fetched file of up to 64 MiB).
	Read time.Duration
	// Write bounds writing a response (default 10 min: the claim's long poll, a download).
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next request (default 2 min).
	Idle time.Duration
}

func (t Timeouts) read() time.Duration  { return orDuration(t.Read, 10*time.Minute) }
func (t Timeouts) write() time.Duration { return orDuration(t.Write, 10*time.Minute) }
func (t Timeouts) idle() time.Duration  { return orDuration(t.Idle, 2*time.Minute) }

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
