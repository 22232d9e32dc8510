package vault

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/pgtest"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/metrics"
	"github.com/cairnbackup/cairn/internal/vault/scheduler"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// measure runs the whole benchmark on one database.
func measure(t *testing.T, db string) (result, error) {
	ctx := t.Context()
	r := result{Database: db, Instances: *numInstances}
	clk := newClock(theHour.Add(-72 * time.Hour))
	var st *store.Store
	var rawDriver, rawDSN string
	var err error
	switch db {
	case "sqlite":
		dir := t.TempDir()
		st, err = store.OpenSQLite(ctx, dir, clk.now)
		rawDriver, rawDSN = "sqlite", "file:"+filepath.Join(dir, "vault.db")+"?_pragma=busy_timeout(5000)"
	case "postgres":
		rawDriver, rawDSN = "pgx", pgtest.Start(t)
		st, err = store.OpenPostgres(ctx, rawDSN, clk.now)
	default:
		return r, fmt.Errorf("-vault.databases: %q: use sqlite or postgres", db)
	}
	if err != nil {
		return r, err
	}
	defer st.Close()
	apis, err := serveReplicas(ctx, st, db, rawDSN, clk)
	if err != nil {
		return r, err
	}
	defer apis.close()
	r.Replicas = len(apis.urls)

	progress("setup: %d clusters, %d instances", *numClusters, *numInstances)
	began := time.Now()
	f, err := setup(ctx, st, *numInstances, *numClusters)
	if err != nil {
		return r, err
	}
	r.Setup, r.Policies = time.Since(began), len(f.policies)
	progress("setup: %s; inserting %d points of history per instance", r.Setup.Round(time.Millisecond), *numPoints)
	began = time.Now()
	raw, err := sql.Open(rawDriver, rawDSN)
	if err != nil {
		return r, fmt.Errorf("open the database for the history: %w", err)
	}
	r.RecoveryPoints, err = insertHistory(ctx, raw, f, *numPoints)
	if err == nil && db == "postgres" {
		// What autovacuum does to a table that grew this much, a minute later.
		_, err = raw.ExecContext(ctx, `ANALYZE`)
	}
	raw.Close()
	if err != nil {
		return r, err
	}
	r.History, r.Jobs = time.Since(began), r.RecoveryPoints
	progress("history: %d jobs and recovery points in %s", r.RecoveryPoints, r.History.Round(time.Millisecond))

	sched := scheduler.New(st, clk.now, nil)
	// Half an hour before the hour nothing is due, and retention has nothing to record: the
	// history carries the expiries it gives.
	clk.set(theHour.Add(-30 * time.Minute))
	began = time.Now()
	if err := sched.Tick(ctx); err != nil {
		return r, fmt.Errorf("tick before the hour: %w", err)
	}
	r.TickBefore = time.Since(began)
	if n, err := queued(ctx, st); err != nil {
		return r, fmt.Errorf("count queued jobs: %w", err)
	} else if n != 0 {
		return r, fmt.Errorf("tick before the hour queued %d jobs", n)
	}
	progress("tick before the hour: %s", r.TickBefore.Round(time.Millisecond))
	r.SetupRSS = vmHWM()

	// From here on memory counts.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return r, fmt.Errorf("reset the peak RSS: %w", err)
	}
	mem := sampleMemory()

	// Run ticks 5 ms into each minute (scheduler.nextWait).
	clk.set(theHour.Add(5 * time.Millisecond))
	r.TickAtHour, err = profiled(db+"-tick-at-hour", func() (err error) {
		r.Lag, err = runTick(ctx, sched)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("tick at the hour: %w", err)
	}
	if r.Queued, err = queued(ctx, st); err != nil {
		return r, err
	}
	if r.Queued != *numInstances {
		return r, fmt.Errorf("tick at the hour queued %d backups, want %d", r.Queued, *numInstances)
	}
	progress("tick at the hour: %s, %d backups queued, the last %s after the hour", r.TickAtHour.Round(time.Millisecond),
		r.Queued, r.Lag.Round(time.Millisecond))
	if _, err = profiled(db+"-scrape", func() (err error) {
		r.Scrape, err = scrape(ctx, st, clk.now)
		return err
	}); err != nil {
		return r, fmt.Errorf("metrics scrape at the hour: %w", err)
	}
	progress("metrics scrape with the hour's backups queued: %s", r.Scrape.Round(time.Millisecond))

	before, err := lastJobID(ctx, st)
	if err != nil {
		return r, err
	}
	r.SteadyTick, err = profiled(db+"-steady-tick", func() error { return sched.Tick(ctx) })
	if err != nil {
		return r, fmt.Errorf("steady tick: %w", err)
	}
	if after, err := lastJobID(ctx, st); err != nil {
		return r, fmt.Errorf("read the last job: %w", err)
	} else if after != before {
		return r, fmt.Errorf("the tick after the hour queued jobs %d to %d", before+1, after)
	}
	progress("steady tick: %s", r.SteadyTick.Round(time.Millisecond))

	var claims []time.Duration
	r.Drain, err = profiled(db+"-drain", func() error {
		var err error
		claims, err = drain(ctx, st, clk, f.clusters)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("drain: %w", err)
	}
	r.Drained = len(claims) - len(f.clusters) // each agent's last claim found nothing
	if r.Drained != r.Queued {
		return r, fmt.Errorf("the agents drained %d jobs, want %d", r.Drained, r.Queued)
	}
	r.ClaimP50, r.ClaimP99 = percentile(claims, 50), percentile(claims, 99)
	progress("drain: %s (claim p50 %s, p99 %s)", r.Drain.Round(time.Millisecond), r.ClaimP50, r.ClaimP99)

	if _, err = profiled(db+"-api", func() error {
		r.Shapes, err = measureAPI(ctx, st, apis, f)
		return err
	}); err != nil {
		return r, fmt.Errorf("API: %w", err)
	}

	// The next hour, with the clients listing jobs while the tick queues every instance's backup
	// again (the agents drained the last hour's).
	atNextHour := func() { clk.set(theHour.Add(time.Hour + 5*time.Millisecond)) }
	if r.Loaded, r.TickLoaded, r.LagLoaded, err = apiDuringTick(ctx, st, apis, sched, atNextHour); err != nil {
		return r, fmt.Errorf("API during the tick: %w", err)
	}
	progress("tick at the next hour under API load: %s, lag %s; GET jobs during it: %d requests, p50 %s, p99 %s",
		r.TickLoaded.Round(time.Millisecond), r.LagLoaded.Round(time.Millisecond), len(r.Loaded.Latencies),
		percentile(r.Loaded.Latencies, 50), percentile(r.Loaded.Latencies, 99))
	r.PeakHeap, r.PeakGoSys = mem.stop()
	r.PeakRSS = vmHWM()
	progress("peak RSS %d MiB, peak Go heap %d MiB (setup: peak RSS %d MiB)", r.PeakRSS>>20, r.PeakHeap>>20, r.SetupRSS>>20)
	return r, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// profiled times fn, under the CPU profiler if -vault.profile names a directory.
func profiled(name string, fn func() error) (time.Duration, error) {
	if *profileDir != "" {
		out, err := os.Create(filepath.Join(*profileDir, name+".pprof"))
		if err != nil {
			return 0, fmt.Errorf("CPU profile: %w", err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return 0, fmt.Errorf("CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	err := fn()
	return time.Since(began), err
}

// scrape times one scrape of the vault's metrics as Prometheus makes it (metrics.Handler) and
// checks that it read the whole store.
func scrape(ctx context.Context, st *store.Store, now func() time.Time) (time.Duration, error) {
	srv := httptest.NewServer(metrics.New(st, now, slog.New(slog.DiscardHandler)).Handler())
	defer srv.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		return 0, err
	}
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(began)
	if err != nil {
		return took, err
	}
	if !bytes.Contains(body, []byte("\ncairn_vault_metrics_store_errors 0\n")) {
		return took, fmt.Errorf("the scrape could not read the whole store (cairn_vault_metrics_store_errors is not 0): %s", body[max(0, len(body)-3000):])
	}
	return took, nil
}

// queued counts the queued backups.
func queued(ctx context.Context, st *store.Store) (n int, err error) {
	page := store.Page{Limit: 1000}
	for {
		list, err := st.ListJobs(ctx, vaultName, store.JobFilter{State: vaultv1.JobQueued, Kind: agentv1.KindBackup}, page)
		if err != nil {
			return 0, err
		}
		n += len(list.Items)
		if list.Next == "" {
			return n, nil
		}
		page.Cursor = list.Next
	}
}

func lastJobID(ctx context.Context, st *store.Store) (int64, error) {
	list, err := st.ListJobs(ctx, vaultName, store.JobFilter{}, store.Page{Limit: 1})
	if err != nil || len(list.Items) == 0 {
		return 0, fmt.Errorf("no jobs (%w)", err)
	}
	return list.Items[0].ID, nil
}

// drain runs one agent per cluster, all at once: each claims its cluster's jobs one after the
// other and completes each with a recovery point, until a claim finds none. It returns the
// latency of every claim.
func drain(ctx context.Context, st *store.Store, clk *clock, clusters []string) ([]time.Duration, error) {
	lc := jobs.New(st, clk.now)
	lat := make([][]time.Duration, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for a, cluster := range clusters {
		wg.Go(func() {
			for {
				began := time.Now()
				j, ok, err := lc.Claim(ctx, vaultName, cluster, time.Minute)
				lat[a] = append(lat[a], time.Since(began))
				if err != nil || !ok {
					errs[a] = err
					return
				}
				rp := &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 512, RawBytes: 64 << 20, StoredBytes: 20 << 20,
					Namespaces: j.Spec.Backup.Config.IncludeNamespaces, Volumes: 2, SnapshotBytes: 256 << 20, Time: clk.now()}
				c := agentv1.Completion{State: agentv1.JobSucceeded, Result: &agentv1.JobResult{RecoveryPoint: rp},
					Logs: []agentv1.LogLine{{Level: "info", Message: "backup completed"}}}
				if err := lc.Complete(ctx, vaultName, cluster, j.ID, c); err != nil {
					errs[a] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(lat...), errors.Join(errs...)
}

// measureAPI serves the API on loopback and times every list shape.
func measureAPI(ctx context.Context, st *store.Store, apis *replicaURLs, f *fixture) ([]shapeResult, error) {
	token, err := st.CreateToken(ctx, vaultName, store.TokenSpec{Name: "bench-reader", Role: access.RoleReader})
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *numClients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	// Deep cursors: 95% of the way down each list (IDs and sequence numbers start at 1).
	newestJob, err := lastJobID(ctx, st)
	if err != nil {
		return nil, err
	}
	newestRP, err := recoveryPointSeq(ctx, st)
	if err != nil {
		return nil, err
	}
	instance := func() string { return f.instances[rand.IntN(len(f.instances))].Name }
	var out []shapeResult
	for _, ep := range []struct {
		name   string
		newest int64
	}{{"jobs", newestJob}, {"recovery-points", newestRP}} {
		base := func() string { return apis.next() + "/api/v1/" + ep.name }
		deep := strconv.FormatInt(max(ep.newest/20, 2), 10)
		for _, shape := range []struct {
			name string
			url  func() string
		}{
			{"default page", base},
			{"by instance", func() string { return base() + "?instance=" + instance() }},
			{"deep cursor", func() string { return base() + "?cursor=" + deep }},
		} {
			s, err := hammer(ctx, client, token, shape.url)
			if err != nil {
				return nil, fmt.Errorf("GET %s, %s: %w", ep.name, shape.name, err)
			}
			s.Endpoint, s.Shape = ep.name, shape.name
			progress("GET /api/v1/%s, %s: p50 %s, p99 %s, %.0f requests/s", ep.name, shape.name,
				percentile(s.Latencies, 50), percentile(s.Latencies, 99), float64(len(s.Latencies))/s.Wall.Seconds())
			out = append(out, s)
		}
	}
	return out, nil
}

// apiDuringTick runs a scheduler tick while -vault.clients clients list jobs (the default page)
// through the API, and returns the latencies of the requests that began during the tick, the
// tick's time and its lag (runTick). atHour sets the clock to the tick's time as it begins.
func apiDuringTick(ctx context.Context, st *store.Store, apis *replicaURLs, sched *scheduler.Scheduler, atHour func()) (
	_ shapeResult, took, lag time.Duration, err error) {
	token, err := st.CreateToken(ctx, vaultName, store.TokenSpec{Name: "bench-reader-2", Role: access.RoleReader})
	if err != nil {
		return shapeResult{}, 0, 0, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *numClients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	var ticking atomic.Bool
	ticking.Store(true)
	lat := make([][]time.Duration, *numClients)
	errs := make([]error, *numClients)
	var wg sync.WaitGroup
	for c := range *numClients {
		wg.Go(func() {
			for ticking.Load() {
				d, err := get(ctx, client, token, apis.next()+"/api/v1/jobs")
				if err != nil {
					errs[c] = err
					return
				}
				if ticking.Load() {
					lat[c] = append(lat[c], d)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // the clients are busy before the tick begins
	atHour()
	began := time.Now()
	lag, err = runTick(ctx, sched)
	took = time.Since(began)
	ticking.Store(false)
	wg.Wait()
	return shapeResult{Endpoint: "jobs", Shape: "during the tick", Latencies: slices.Concat(lat...), Wall: took}, took, lag,
		errors.Join(append(errs, err)...)
}

// replicaURLs are the API servers of the vault's replicas, which the clients take in turn.
type replicaURLs struct {
	urls    []string
	servers []*httptest.Server
	stores  []*store.Store // the replicas' own, beyond the first (the scheduler's)
	turn    atomic.Uint64
}

// next is the replica the next request goes to.
func (r *replicaURLs) next() string { return r.urls[(r.turn.Add(1)-1)%uint64(len(r.urls))] }

func (r *replicaURLs) close() {
	for _, s := range r.servers {
		s.Close()
	}
	for _, st := range r.stores {
		st.Close()
	}
}

// serveReplicas serves the API of -vault.replicas replicas: the first over st, which the
// scheduler uses too, each other over a store of its own on the same PostgreSQL database (its own
// connections, as a replica process has).
func serveReplicas(ctx context.Context, st *store.Store, db, dsn string, clk *clock) (*replicaURLs, error) {
	if *numReplicas > 1 && db != "postgres" {
		return nil, fmt.Errorf("-vault.replicas %d: only PostgreSQL runs replicas; measure %s with 1", *numReplicas, db)
	}
	r := &replicaURLs{}
	for i := range max(*numReplicas, 1) {
		rst := st
		if i > 0 {
			var err error
			if rst, err = store.OpenPostgres(ctx, dsn, clk.now); err != nil {
				r.close()
				return nil, fmt.Errorf("replica %d: %w", i, err)
			}
			r.stores = append(r.stores, rst)
		}
		srv := httptest.NewServer(api.NewServer(rst, api.Config{Now: clk.now}).Handler())
		r.servers, r.urls = append(r.servers, srv), append(r.urls, srv.URL)
	}
	return r, nil
}

// runTick makes the tick scheduler.Run makes at once, as at the top of the hour (where it queues
// the hour's backups and leaves retention to the next tick), and returns how late it queued the
// last due backup: on the scheduler's clock once the transaction holding it committed, when agents
// can claim it (the jobs' creation times are earlier, when each was built).
func runTick(ctx context.Context, sched *scheduler.Scheduler) (lag time.Duration, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched.OnTick = func(_, tickLag time.Duration, tickErr error) {
		lag, err = tickLag, tickErr
		cancel()
	}
	defer func() { sched.OnTick = nil }()
	sched.Run(ctx, time.Hour)
	return lag, err
}

// recoveryPointSeq is the sequence number of the newest recovery point, read from its cursor.
func recoveryPointSeq(ctx context.Context, st *store.Store) (int64, error) {
	list, err := st.ListRecoveryPoints(ctx, vaultName, store.RecoveryPointFilter{}, store.Page{Limit: 2})
	if err != nil {
		return 0, err
	}
	// A full page of two ends at the second newest: its cursor is that point's sequence number.
	n, err := strconv.ParseInt(list.Next, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("recovery point cursor %q: %w", list.Next, err)
	}
	return n + 1, nil
}

// hammer sends -vault.requests GETs of url() from -vault.clients clients after a short warm-up,
// checking that each answers 200 with a non-empty list.
func hammer(ctx context.Context, client *http.Client, token string, url func() string) (shapeResult, error) {
	get := func() (time.Duration, error) { return get(ctx, client, token, url()) }
	for range 2 * *numClients {
		if _, err := get(); err != nil {
			return shapeResult{}, err
		}
	}
	var next atomic.Int64
	lat := make([]time.Duration, *numRequests)
	errs := make([]error, *numClients)
	var wg sync.WaitGroup
	began := time.Now()
	for c := range *numClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(lat)) {
					return
				}
				if lat[i], errs[c] = get(); errs[c] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return shapeResult{Latencies: lat, Wall: time.Since(began)}, errors.Join(errs...)
}

// get sends one GET of url with token and times it, checking that it answers 200 with a
// non-empty list.
func get(ctx context.Context, client *http.Client, token, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(began)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte(`{"items":[{`)) {
		return 0, fmt.Errorf("%s: %s: %.200s", req.URL, resp.Status, body)
	}
	return d, nil
}

// memory samples the Go heap every 50 ms.
type memory struct {
	done      chan struct{}
	wg        sync.WaitGroup
	heap, sys uint64
}

func sampleMemory() *memory {
	m := &memory{done: make(chan struct{})}
	m.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			m.heap, m.sys = max(m.heap, ms.HeapAlloc), max(m.sys, ms.Sys)
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	})
	return m
}

// stop ends the sampling and returns the peak heap in use and the peak memory the Go runtime
// held from the system.
func (m *memory) stop() (heap, sys uint64) {
	close(m.done)
	m.wg.Wait()
	return m.heap, m.sys
}

// vmHWM is the process's peak resident set size (bytes) since start or the last reset.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
