// Package agent is cairn's in-cluster runtime (docs/design/vault.md, "Agent protocol"): it
// connects out to the vault with its agent token, heartbeats, claims the jobs the vault queued for
// its cluster, runs them with the engines (backup, restore, retention delete, verify; browse and
// fetch, which read a volume's copy for the vault), streams their progress and logs, and reports
// their results.
//
// The vault holds no storage credential: the agent reads storage credentials from its environment
// and repository passphrases from its secrets directory or environment ("Agent secrets").
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/usecase"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// Options configure an agent.
type Options struct {
	// VaultURL is the vault's base URL, e.g. https://vault.example:8443.
	VaultURL string
	// Token is the agent token of the cluster's trust grant.
	Token string
	// Config reaches the agent's own cluster (in-cluster config in a pod).
	Config *rest.Config
	// SecretsDir holds one file per secret (a mounted Secret); empty reads secrets from the
	// environment only (CAIRN_SECRET_<NAME>).
	SecretsDir string
	// Getenv reads storage credentials and secrets (default: none; the CLI passes os.Getenv).
	Getenv func(string) string
	// Version is the agent's version, reported in heartbeats.
	Version string
	// HeartbeatEvery is the heartbeat interval (default 15s).
	HeartbeatEvery time.Duration
	// ProgressEvery is the longest time between two progress reports of a running job, which
	// renew its lease (default 5s).
	ProgressEvery time.Duration
	// Concurrency is how many jobs run at once (default 1; ValidConcurrency).
	Concurrency int
	// Mover configures the data mover pods that copy volume data (Image empty: volume data is
	// not copied; backups asking for copies record why).
	Mover usecase.MoverOptions
	// HTTPClient calls the vault; its timeout must exceed the claim's long poll (default: a
	// client with a 60s timeout).
	HTTPClient *http.Client
	// Metrics records the agent's jobs, vault calls, hook runs and storage operations (default: a
	// registry of its own, which nothing serves).
	Metrics *metrics.Metrics
	// MetricsListener, if set, is where GET /metrics serves Metrics until the agent stops; Run
	// closes it.
	MetricsListener net.Listener
	Logger          *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// timing holds the agent's retry and grace periods; tests shorten them.
type timing struct {
	retryBase, retryMax time.Duration // network errors: back off from base, doubling up to max
	unauthorizedRetry   time.Duration // after a 401: the trust grant was revoked
	minClaimInterval    time.Duration // a claim answered 204 sooner than this waits the rest
	batchWindow         time.Duration // new log lines wait this long for others before they are sent
	stopGrace           time.Duration // a cancelled job's engine gets this long to return
	completeFor         time.Duration // how long a completion is retried
	callTimeout         time.Duration // bound on every call but the claim
}

func defaultTiming() timing {
	return timing{retryBase: time.Second, retryMax: 30 * time.Second, unauthorizedRetry: 30 * time.Second,
		minClaimInterval: time.Second, batchWindow: 250 * time.Millisecond, stopGrace: 5 * time.Second,
		completeFor: 5 * time.Minute, callTimeout: 30 * time.Second}
}

// agent is one running agent.
type agent struct {
	opts    Options
	t       timing
	vault   *meteredVault
	metrics *metrics.Metrics
	log     *slog.Logger
	slots   chan struct{}
	jobs    sync.WaitGroup
	getenv  func(string) string
	now     func() time.Time
	// execute runs one job; tests replace it to drive the protocol without a cluster.
	execute func(ctx context.Context, j *jobRun) outcome
	// cluster reads the cluster's version and namespaces for heartbeats and pre-flight checks.
	cluster *clusterReader
	// gc remembers when the agent last collected each repository's file store garbage.
	gc gcLog
}

// Run runs the agent until ctx ends: it heartbeats, claims and runs jobs. When ctx ends it stops
// claiming, cancels the running jobs and reports them failed, waiting a few seconds at most. It
// returns an error only when the options are unusable.
func Run(ctx context.Context, opts Options) error {
	a, err := newAgent(opts)
	if err != nil {
		if opts.MetricsListener != nil {
			_ = opts.MetricsListener.Close()
		}
		return err
	}
	if ln := opts.MetricsListener; ln != nil {
		defer a.serveMetrics(ctx, ln)()
	}
	// The hook CRDs come with the agent, so BackupHook and RestoreHook manifests apply at once.
	installed, err := crds.Install(ctx, opts.Config)
	if err != nil {
		return fmt.Errorf("install the BackupHook and RestoreHook CRDs: %w", err)
	}
	a.log.InfoContext(ctx, "hook CRDs installed", "crds", installed)
	a.opts.Mover = a.moverSettings(ctx)
	a.log.InfoContext(ctx, "data mover", "image", a.opts.Mover.Image, "namespace", a.opts.Mover.Namespace, "hostNetwork", a.opts.Mover.HostNetwork)
	a.sweepMovers(ctx)
	a.run(ctx)
	return nil
}

// serveMetrics serves GET /metrics on ln until ctx ends or the returned stop is called, which
// waits until the server closed.
func (a *agent) serveMetrics(ctx context.Context, ln net.Listener) (stop func()) {
	serveCtx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	a.log.InfoContext(ctx, "metrics serving", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		defer close(served)
		if err := a.metrics.Serve(serveCtx, ln); err != nil {
			a.log.ErrorContext(ctx, "metrics server stopped", "error", err)
		}
	}()
	return func() {
		cancel()
		<-served
	}
}

// sweepMovers removes what data movers of an earlier run left (the agent was killed mid-copy):
// no job of this agent runs yet, so every labelled object is a leftover.
func (a *agent) sweepMovers(ctx context.Context) {
	r := &usecase.Runner{Config: a.opts.Config, Now: a.now, Logger: a.log}
	swept, err := r.SweepMovers(ctx, a.opts.Mover.Namespace, a.now())
	if err != nil {
		a.log.WarnContext(ctx, "leftovers of earlier data movers not all removed", "error", err)
	}
	if swept.Total() > 0 {
		a.log.InfoContext(ctx, "removed leftovers of earlier data movers", "pods", swept.Pods, "claims", swept.Claims,
			"secrets", swept.Secrets, "snapshotObjects", swept.SnapshotObjects, "volumes", swept.Volumes)
	}
}

func newAgent(opts Options) (*agent, error) {
	if opts.Token == "" {
		return nil, errors.New("no agent token: give --token-file or set CAIRN_AGENT_TOKEN (the token of the cluster's trust grant, from cairn cluster register)")
	}
	if opts.Config == nil {
		return nil, errors.New("no cluster configuration: the agent needs its cluster (in-cluster config, or --kubeconfig/--context)")
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.HeartbeatEvery <= 0 {
		opts.HeartbeatEvery = 15 * time.Second
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	t := defaultTiming()
	a := &agent{opts: opts, t: t, log: opts.Logger, slots: make(chan struct{}, opts.Concurrency),
		getenv: opts.Getenv, now: opts.Now, metrics: opts.Metrics}
	vc, err := client.NewAgent(opts.VaultURL, opts.Token, opts.HTTPClient, a.kinds(), t.callTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w (--vault)", err)
	}
	a.vault = &meteredVault{Agent: vc, m: opts.Metrics, now: opts.Now}
	if a.cluster, err = newClusterReader(opts.Config, t.callTimeout); err != nil {
		return nil, err
	}
	a.execute = a.executeJob
	return a, nil
}

// run is Run once the options are checked.
func (a *agent) run(ctx context.Context) {
	a.log.Info("agent started", "vault", a.vault.URL(), "version", a.opts.Version, "protocol", agentv1.Protocol, "kinds", a.kinds(),
		"concurrency", a.opts.Concurrency, "cluster", a.opts.Config.Host)
	var loops sync.WaitGroup
	loops.Go(func() { a.heartbeatLoop(ctx) })
	a.claimLoop(ctx)
	loops.Wait()
	// Jobs were cancelled with ctx: each reports itself failed within stopGrace plus a bounded
	// completion. Wait for them, but never forever: an engine that ignores cancellation must not
	// keep the process alive.
	done := make(chan struct{})
	go func() {
		a.jobs.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2*a.t.stopGrace + a.t.callTimeout):
		a.log.Warn("agent stopped with jobs still running; the vault fails them when their leases expire")
	}
	a.log.Info("agent stopped", "reason", fmt.Sprint(context.Cause(ctx)))
}

// MaxConcurrency bounds Options.Concurrency: each running job holds its own buffers, and the
// agent's pod is limited to 2 GiB by default.
const MaxConcurrency = 16

// ValidConcurrency checks how many jobs an agent is to run at once: 1 to MaxConcurrency.
func ValidConcurrency(n int) error {
	if n < 1 || n > MaxConcurrency {
		return fmt.Errorf("concurrency %d: run between 1 and %d jobs at once", n, MaxConcurrency)
	}
	return nil
}
