package vault

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	runBench     = flag.Bool("vault", false, "run the vault benchmark (docs/benchmarks.md)")
	databases    = flag.String("vault.databases", "sqlite,postgres", "databases to measure, in this order")
	numInstances = flag.Int("vault.instances", 5000, "backup instances")
	numClusters  = flag.Int("vault.clusters", 50, "clusters, one agent each")
	numPoints    = flag.Int("vault.points", 20, "hourly recovery points (and their jobs) of history per instance")
	numClients   = flag.Int("vault.clients", 8, "concurrent API clients")
	numRequests  = flag.Int("vault.requests", 1000, "API requests of each list shape")
	numReplicas  = flag.Int("vault.replicas", 1, "vault replicas serving the API (PostgreSQL only), one of them running the scheduler; the clients take them in turn")
	profileDir   = flag.String("vault.profile", "", "write CPU profiles of the ticks, the drain and the API requests to this directory")
	childDB      = flag.String("vault.child", "", "internal: measure this database in this process (set by TestVault)")
	childOut     = flag.String("vault.out", "", "internal: the file the child writes its result to")
)

// result is one database's figures, passed from the child process to TestVault as JSON.
type result struct {
	Database       string
	Replicas       int
	Instances      int
	Policies       int
	RecoveryPoints int // live, before the hour
	Jobs           int // before the hour

	Setup   time.Duration // clusters, policies and instances through the store
	History time.Duration // the bulk insert of jobs and recovery points

	TickBefore time.Duration // a tick half an hour before the hour: nothing due
	TickAtHour time.Duration
	Queued     int           // backups the tick at the hour queued
	Lag        time.Duration // how late after the hour the last of them was committed (runTick)
	SteadyTick time.Duration // the tick after: nothing due
	Scrape     time.Duration // one scrape of the vault's metrics with the hour's backups queued

	Drain    time.Duration
	Drained  int
	ClaimP50 time.Duration
	ClaimP99 time.Duration
	Shapes   []shapeResult
	// The next hour's tick with -vault.clients clients listing jobs meanwhile.
	TickLoaded time.Duration
	LagLoaded  time.Duration
	Loaded     shapeResult

	PeakRSS   int64 // bytes, VmHWM from the tick at the hour on
	SetupRSS  int64 // bytes, VmHWM at the end of setup
	PeakHeap  uint64
	PeakGoSys uint64
}

// shapeResult is one kind of API request.
type shapeResult struct {
	Endpoint  string // jobs, recovery-points
	Shape     string // default page, by instance, deep cursor
	Latencies []time.Duration
	Wall      time.Duration
}

// TestVault runs TestVaultDatabase once per database, each in a process of its own, and prints
// the tables.
func TestVault(t *testing.T) {
	if !*runBench {
		t.Skip("the vault benchmark runs with -args -vault (docs/benchmarks.md)")
	}
	var results []result
	for db := range strings.SplitSeq(*databases, ",") {
		r, ok, err := runChild(t, strings.TrimSpace(db))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			results = append(results, r)
		}
	}
	printTables(os.Stdout, results)
}

// runChild measures db in a new process of this test binary; ok is false if the child skipped
// (PostgreSQL not installed).
func runChild(t *testing.T, db string) (r result, ok bool, err error) {
	out := filepath.Join(t.TempDir(), db+".json")
	args := []string{"-test.run=^TestVaultDatabase$", "-test.count=1", "-test.v",
		"-test.timeout=" + flag.Lookup("test.timeout").Value.String(),
		"-vault.child=" + db, "-vault.out=" + out,
		"-vault.instances=" + strconv.Itoa(*numInstances), "-vault.clusters=" + strconv.Itoa(*numClusters),
		"-vault.points=" + strconv.Itoa(*numPoints), "-vault.clients=" + strconv.Itoa(*numClients),
		"-vault.requests=" + strconv.Itoa(*numRequests), "-vault.replicas=" + strconv.Itoa(*numReplicas), "-vault.profile=" + *profileDir}
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "== %s\n", db)
	if err := cmd.Run(); err != nil {
		return r, false, fmt.Errorf("measure %s: %w", db, err)
	}
	b, err := os.ReadFile(out)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("%s: skipped (see above)", db)
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read the result of %s: %w", db, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, false, fmt.Errorf("decode the result of %s: %w", db, err)
	}
	return r, true, nil
}

// TestVaultDatabase measures one database (-vault.child) and writes the result to -vault.out.
func TestVaultDatabase(t *testing.T) {
	if *childDB == "" {
		t.Skip("run by TestVault")
	}
	r, err := measure(t, *childDB)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*childOut, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var databaseNames = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}

func printTables(w io.Writer, results []result) {
	if len(results) == 0 {
		return
	}
	r0 := results[0]
	fmt.Fprintf(w, "\n%d instances (%d clusters, %d policies, all hourly), %d recovery points of history each; "+
		"API: %d clients, %d requests per shape (default page, by instance, deep cursor)\n\n",
		r0.Instances, *numClusters, r0.Policies, *numPoints, *numClients, *numRequests)
	fmt.Fprintln(w, "| database | instances | recovery points | tick at the hour | steady tick | lag until last job queued | "+
		"metrics scrape at the hour | drain by the agents | GET jobs p50 / p99 | GET recovery-points p50 / p99 | peak RSS | peak Go heap |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		jobs, rps := r.endpoint("jobs"), r.endpoint("recovery-points")
		fmt.Fprintf(w, "| %s | %d | %d | %.2f s | %.2f s | %.2f s | %.3f s | %.2f s | %s / %s ms | %s / %s ms | %d MiB | %d MiB |\n",
			r.label(), r.Instances, r.RecoveryPoints, r.TickAtHour.Seconds(), r.SteadyTick.Seconds(),
			r.Lag.Seconds(), r.Scrape.Seconds(), r.Drain.Seconds(), ms(percentile(jobs, 50)), ms(percentile(jobs, 99)),
			ms(percentile(rps, 50)), ms(percentile(rps, 99)), r.PeakRSS>>20, r.PeakHeap>>20)
	}
	fmt.Fprintln(w, "\n| database | request | p50 | p99 | requests/s |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|")
	for _, r := range results {
		for _, s := range r.Shapes {
			fmt.Fprintf(w, "| %s | GET /api/v1/%s, %s | %s ms | %s ms | %.0f |\n", r.label(), s.Endpoint, s.Shape,
				ms(percentile(s.Latencies, 50)), ms(percentile(s.Latencies, 99)), float64(len(s.Latencies))/s.Wall.Seconds())
		}
	}
	fmt.Fprint(w, "\nThe next hour's tick while the clients list jobs (GET /api/v1/jobs, default page) without pause:\n\n")
	fmt.Fprintln(w, "| database | tick at the hour | lag until last job queued | GET jobs during the tick | p50 | p99 |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %.2f s | %.2f s | %d | %s ms | %s ms |\n", r.label(), r.TickLoaded.Seconds(), r.LagLoaded.Seconds(),
			len(r.Loaded.Latencies), ms(percentile(r.Loaded.Latencies, 50)), ms(percentile(r.Loaded.Latencies, 99)))
	}
	fmt.Fprintln(w, "\n| database | setup through the store | history insert | tick before the hour | backups queued | claim p50 / p99 | jobs drained | peak RSS in setup |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %.1f s | %.1f s | %.2f s | %d | %s / %s ms | %d | %d MiB |\n", r.label(),
			r.Setup.Seconds(), r.History.Seconds(), r.TickBefore.Seconds(), r.Queued, ms(r.ClaimP50), ms(r.ClaimP99),
			r.Drained, r.SetupRSS>>20)
	}
}

// label names the database, and the replicas when more than one served the API.
func (r result) label() string {
	if r.Replicas > 1 {
		return fmt.Sprintf("%s, %d replicas", databaseNames[r.Database], r.Replicas)
	}
	return databaseNames[r.Database]
}

// endpoint is every latency measured on one endpoint, all shapes together.
func (r result) endpoint(name string) []time.Duration {
	var all []time.Duration
	for _, s := range r.Shapes {
		if s.Endpoint == name {
			all = append(all, s.Latencies...)
		}
	}
	return all
}

// percentile is the p-th percentile (nearest rank) of d.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
