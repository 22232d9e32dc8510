//go:build e2e

package e2e

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// offsetClock is real time moved ahead by what the test advanced it: leases and long polls keep
// their real pace while schedules and retention see hours and days go by.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// advanceTo moves the clock to t (if it is ahead).
func (c *offsetClock) advanceTo(t time.Time) {
	if d := t.Sub(c.now()); d > 0 {
		c.advance(d)
	}
}

// testVault is a vault served in-process on loopback.
type testVault struct {
	url     string
	admin   *client.Client
	clock   *offsetClock
	dataDir string
}

// vaultLease is the e2e vault's job lease: short, so a killed agent is noticed within seconds.
const vaultLease = 4 * time.Second

// startVault serves a vault on SQLite in a temporary directory, or on database (a PostgreSQL URL),
// until the test ends, ticking its scheduler twice a second; tune changes its options first.
func startVault(t *testing.T, database string, tune ...func(*vault.Options)) *testVault {
	t.Helper()
	clk := &offsetClock{}
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	opts := vault.Options{DataDir: dataDir, Database: database, Listen: "127.0.0.1:0", Vault: "default",
		Ready: func(addr string) { ready <- addr }, Tick: 500 * time.Millisecond, Now: clk.now,
		API:    api.Config{Lease: vaultLease, ClaimWait: 2 * time.Second},
		Logger: slog.New(slog.NewTextHandler(testWriter{t, "vault"}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, f := range tune {
		f(&opts)
	}
	go func() { done <- vault.Serve(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vault: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("vault did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("vault did not start within 30s")
	}
	token, err := os.ReadFile(filepath.Join(dataDir, vault.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr
	admin, err := client.New(url, strings.TrimSpace(string(token)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testVault{url: url, admin: admin, clock: clk, dataDir: dataDir}
}

// testWriter sends log output to t.Log, prefixed.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.prefix, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// agentSecret is the passphrase secret every e2e agent holds.
const agentSecret = "repo-passphrase"

// secretsDir writes the agents' secrets directory.
func secretsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, agentSecret), []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// register registers the cluster and runs its agent in-process until the returned stop is called
// (or the test ends); it waits until the vault sees the agent healthy.
func (v *testVault) register(t *testing.T, name string, cfg *rest.Config, secrets string, tune ...func(*agent.Options)) (token string, stop func()) {
	t.Helper()
	grant, err := v.admin.RegisterCluster(t.Context(), vaultv1.ClusterRegistration{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(grant.Manifest, "ClusterRole") {
		t.Errorf("trust grant manifest without a ClusterRole:\n%s", grant.Manifest)
	}
	stop = v.runAgent(t, name, grant.AgentToken, cfg, secrets, tune...)
	v.waitHealthy(t, name)
	return grant.AgentToken, stop
}

func (v *testVault) runAgent(t *testing.T, name, token string, cfg *rest.Config, secrets string, tune ...func(*agent.Options)) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := agent.Options{VaultURL: v.url, Token: token, Config: cfg, SecretsDir: secrets, Getenv: os.Getenv,
		Version: "e2e", HeartbeatEvery: time.Second, ProgressEvery: time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t, "agent " + name}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, f := range tune {
		f(&opts)
	}
	go func() { done <- agent.Run(ctx, opts) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("agent %s: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (v *testVault) waitHealthy(t *testing.T, cluster string) {
	t.Helper()
	waitFor(t, 30*time.Second, "cluster "+cluster+" healthy", func() bool {
		c, err := v.admin.GetCluster(t.Context(), cluster)
		return err == nil && c.Health == vaultv1.HealthHealthy
	})
}

// waitJob waits until the job ends and returns it.
func (v *testVault) waitJob(t *testing.T, id int64, within time.Duration) vaultv1.Job {
	t.Helper()
	var j vaultv1.Job
	waitFor(t, within, "job to end", func() bool {
		var err error
		j, err = v.admin.GetJob(t.Context(), id)
		return err == nil && j.State != vaultv1.JobQueued && j.State != vaultv1.JobRunning
	})
	if j.State != vaultv1.JobSucceeded {
		logs, _ := v.admin.JobLogs(t.Context(), id, client.LogFilter{})
		t.Logf("job %d %s: %s; logs: %+v", id, j.State, j.Error, logs.Items)
	}
	return j
}

// recoveryPoints lists the instance's live recovery points by name.
func (v *testVault) recoveryPoints(t *testing.T, instance string) map[string]vaultv1.RecoveryPoint {
	t.Helper()
	list, err := v.admin.ListRecoveryPoints(t.Context(), client.RecoveryPointFilter{Instance: instance})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]vaultv1.RecoveryPoint{}
	for _, rp := range list.Items {
		out[rp.Name] = rp
	}
	return out
}

// waitRecoveryPoints waits until the instance has n live recovery points and no open job. Its
// bound is generous: a job deleting snapshots waits for the CSI sidecars, which back off.
func (v *testVault) waitRecoveryPoints(t *testing.T, instance string, n int) map[string]vaultv1.RecoveryPoint {
	t.Helper()
	var rps map[string]vaultv1.RecoveryPoint
	waitFor(t, 3*time.Minute, "recovery points of "+instance, func() bool {
		rps = v.recoveryPoints(t, instance)
		if len(rps) != n {
			return false
		}
		for _, state := range []string{vaultv1.JobQueued, vaultv1.JobRunning} {
			jobs, err := v.admin.ListJobs(t.Context(), client.JobFilter{Instance: instance, State: state})
			if err != nil || len(jobs.Items) > 0 {
				return false
			}
		}
		return true
	})
	return rps
}

// repositoryBackups lists the backups in a repository: name → complete.
func repositoryBackups(t *testing.T, storage string) map[string]bool {
	t.Helper()
	st, err := blobopen.Open(t.Context(), storage, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := archive.Open(t.Context(), st, archive.Credential{Passphrase: []byte(passphrase)})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := repo.Catalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range cat {
		out[e.Name] = e.Manifest != nil
	}
	return out
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func names(m map[string]vaultv1.RecoveryPoint) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
