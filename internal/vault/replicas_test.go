package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/pgtest"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// servedReplica is one `vault serve` of several on one database.
type servedReplica struct {
	addr, dir string
	stop      func()
}

// serveReplica starts a replica; a replica that does not start fails the test, which the caller
// checks.
func serveReplica(t *testing.T, dsn string, now func() time.Time) *servedReplica {
	t.Helper()
	dir := t.TempDir()
	addr, stop := serveUntilStopped(t, Options{DataDir: dir, Database: dsn, Listen: "127.0.0.1:0", Vault: "default",
		Tick: 200 * time.Millisecond, Now: now})
	return &servedReplica{addr: addr, dir: dir, stop: stop}
}

// serveUntilStopped serves a vault with opts until stop is called or the test ends, and returns
// its address ("" when it did not start, which fails the test: not Fatal, so that vaults may
// start from other goroutines).
func serveUntilStopped(t *testing.T, opts Options) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	opts.Ready = func(a string) { ready <- a }
	go func() { done <- Serve(ctx, opts) }()
	var stopped atomic.Bool
	stop = func() {
		if stopped.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("vault: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	select {
	case addr = <-ready:
	case err := <-done:
		t.Errorf("vault did not start: %v", err)
	}
	return addr, stop
}

// leads reads the replica's cairn_vault_leader metric.
func (r *servedReplica) leads(t *testing.T) bool {
	t.Helper()
	return strings.Contains(scrape(t, "http://"+r.addr+"/metrics"), "\ncairn_vault_leader 1\n")
}

// TestReplicasQueueEachDueBackupOnce serves three replicas on one PostgreSQL database: exactly
// one leads, the backups due when the clock moves are queued once, and when the leader stops
// another replica leads and queues the next due backups, once.
func TestReplicasQueueEachDueBackupOnce(t *testing.T) {
	dsn := pgtest.Start(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	// All three start at the same moment on the new database: one migrates it and makes the first
	// token, the others wait for the migration and find the token.
	replicas := make([]*servedReplica, 3)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { replicas[i] = serveReplica(t, dsn, now) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var token []byte
	for _, r := range replicas {
		b, err := os.ReadFile(filepath.Join(r.dir, AdminTokenFile))
		switch {
		case err == nil && token != nil:
			t.Fatal("two replicas wrote a first token")
		case err == nil:
			token = b
		case !errors.Is(err, fs.ErrNotExist):
			t.Fatal(err)
		}
	}
	if token == nil {
		t.Fatal("no replica wrote the first token")
	}
	var err error
	// The API of every replica: what one made, the others serve.
	clients := make([]*client.Client, len(replicas))
	for i, r := range replicas {
		if clients[i], err = client.New("http://"+r.addr, strings.TrimSpace(string(token)), nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	if _, err := clients[0].CreatePolicy(ctx, policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: policy.Duration(24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	const instances = 20 // on as many clusters: one instance per cluster and policy
	for i := range instances {
		name := fmt.Sprintf("app%02d", i)
		if _, err := clients[1].RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: name}); err != nil {
			t.Fatal(err)
		}
		spec := vaultv1.InstanceSpec{Name: name, Cluster: name, Policy: "hourly",
			Storage: vaultv1.StorageLocation{URL: "file:///b/" + name, PassphraseSecret: "pass"}}
		if _, err := clients[2].CreateInstance(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}

	leader := func() int {
		t.Helper()
		found := -1
		for i, r := range replicas {
			if r.addr == "" || !r.leads(t) {
				continue
			}
			if found >= 0 {
				t.Fatalf("replicas %d and %d both lead", found, i)
			}
			found = i
		}
		return found
	}
	waitLeader := func() int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if i := leader(); i >= 0 {
				return i
			}
			if time.Now().After(deadline) {
				t.Fatal("no replica leads")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// waitBackups waits until n scheduled backups are queued, and a few ticks more to see no
	// more come.
	waitBackups := func(c *client.Client, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			jobs, err := c.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindBackup, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs.Items) > n {
				t.Fatalf("%d backups queued, want %d", len(jobs.Items), n)
			}
			if len(jobs.Items) == n {
				if deadline.IsZero() {
					return
				}
				deadline = time.Time{}
				time.Sleep(time.Second)
				continue
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				t.Fatalf("%d backups queued after 30 s, want %d", len(jobs.Items), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A Backup center session started on one replica is good on the others.
	cookie := testenv.SignInToCenter(t, "http://"+replicas[0].addr, strings.TrimSpace(string(token)))
	for _, r := range replicas[1:] {
		if !testenv.SignedIn(t, "http://"+r.addr, cookie) {
			t.Errorf("the session started on %s is refused on %s", replicas[0].addr, r.addr)
		}
	}

	first := waitLeader()
	offset.Store(int64(2 * time.Hour))
	waitBackups(clients[(first+1)%3], instances)

	// No agent runs them: cancelled, they no longer absorb the next runs.
	queued, err := clients[first].ListJobs(ctx, client.JobFilter{Kind: agentv1.KindBackup, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range queued.Items {
		if _, err := clients[first].CancelJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}

	// The leader stops (a rolling restart): another replica leads at once and runs the schedule.
	replicas[first].stop()
	replicas[first].addr = ""
	stopped := time.Now()
	second := waitLeader()
	if took := time.Since(stopped); took > 10*time.Second {
		t.Errorf("leadership passed on after %v", took)
	}
	offset.Store(int64(3 * time.Hour))
	waitBackups(clients[second], 2*instances)
	if !testenv.SignedIn(t, "http://"+replicas[second].addr, cookie) {
		t.Error("the session ended with a replica's restart")
	}
}

// TestSessionsSurviveARestart restarts a SQLite vault: a Backup center session started before
// goes on after.
func TestSessionsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	serve := func() (addr string, stop func()) {
		addr, stop = serveUntilStopped(t, Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default"})
		if addr == "" {
			t.FailNow()
		}
		return addr, stop
	}
	addr, stop := serve()
	token, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	cookie := testenv.SignInToCenter(t, "http://"+addr, strings.TrimSpace(string(token)))
	stop()
	addr, stop = serve()
	defer stop()
	if !testenv.SignedIn(t, "http://"+addr, cookie) {
		t.Fatal("the session ended with the vault's restart")
	}
	if testenv.SignedIn(t, "http://"+addr, &http.Cookie{Name: cookie.Name, Value: cookie.Value + "x"}) {
		t.Fatal("a changed session cookie was taken")
	}
}
