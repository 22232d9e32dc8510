package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestProgressCountsIncreases: each report adds what it grew since the previous report of its
// stage; a report lower than the one before adds nothing and is the next one's base; stages count
// apart.
func TestProgressCountsIncreases(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		reports              []report
		wantItems, wantBytes float64
	}{
		{"none", nil, 0, 0},
		{"growing", []report{{"", 0, 0}, {"", 10, 100}, {"", 25, 300}}, 25, 300},
		{"first report counts from zero", []report{{"", 7, 70}}, 7, 70},
		{"the same report twice adds nothing", []report{{"", 5, 50}, {"", 5, 50}}, 5, 50},
		{"a stage starting over is a new base, never negative", []report{{"s", 10, 100}, {"s", 3, 30}, {"s", 8, 80}}, 15, 150},
		{"bytes fall while items grow", []report{{"", 1, 500}, {"", 2, 0}, {"", 3, 10}}, 3, 510},
		{"stages count apart", []report{{"backing up", 50, 5000}, {"copying volume data", 1, 1 << 20}, {"backing up", 60, 6000}}, 61, 6000 + 1<<20},
		{"a job's own totals after its stages", []report{{"backing up", 50, 5000}, {"", 50, 5000}}, 100, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			p := m.Progress(agentv1.KindBackup)
			for _, r := range tc.reports {
				p.Report(r.stage, r.items, r.bytes)
			}
			if got := testutil.ToFloat64(m.items.WithLabelValues(agentv1.KindBackup)); got != tc.wantItems {
				t.Errorf("items = %v, want %v", got, tc.wantItems)
			}
			if got := testutil.ToFloat64(m.bytes.WithLabelValues(agentv1.KindBackup)); got != tc.wantBytes {
				t.Errorf("bytes = %v, want %v", got, tc.wantBytes)
			}
			// Other kinds are untouched.
			if got := testutil.ToFloat64(m.items.WithLabelValues(agentv1.KindRestore)); got != 0 {
				t.Errorf("restore items = %v", got)
			}
		})
	}
}

type report struct {
	stage        string
	items, bytes int64
}

// TestProgressOfJobsAddUp: two jobs of a kind, reporting at once, add up in their kind's counter.
func TestProgressOfJobsAddUp(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for range 2 {
		p := m.Progress(agentv1.KindRestore)
		wg.Go(func() {
			for i := range int64(101) {
				p.Report("restoring", i, 10*i)
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.items.WithLabelValues(agentv1.KindRestore)); got != 200 {
		t.Errorf("items = %v, want 200", got)
	}
	if got := testutil.ToFloat64(m.bytes.WithLabelValues(agentv1.KindRestore)); got != 2000 {
		t.Errorf("bytes = %v, want 2000", got)
	}
}

// TestRegistry: the registry is consistent (the pedantic checks of the client library), its
// counters start at zero for every kind, state, call and result, and what the agent records shows.
func TestRegistry(t *testing.T) {
	m := New()
	if problems, err := testutil.GatherAndLint(m.reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	// Zero from the start, so increase() counts the first event.
	if n := testutil.CollectAndCount(m.jobs); n != len(agentv1.Kinds)*len(States) {
		t.Errorf("%d job series, want %d", n, len(agentv1.Kinds)*len(States))
	}
	if n := testutil.CollectAndCount(m.hooks); n != 2*2*4 {
		t.Errorf("%d hook series, want 16", n)
	}
	if n := testutil.CollectAndCount(m.calls); n != 5*3 {
		t.Errorf("%d call series, want 15", n)
	}

	m.JobStarted(agentv1.KindBackup)
	m.JobStarted(agentv1.KindBackup)
	if got := testutil.ToFloat64(m.running.WithLabelValues(agentv1.KindBackup)); got != 2 {
		t.Errorf("running = %v, want 2", got)
	}
	m.JobEnded(agentv1.KindBackup, agentv1.JobSucceeded, 90*time.Second)
	m.JobEnded(agentv1.KindBackup, agentv1.JobPartiallyFailed, -time.Second) // a clock that went back: 0
	m.JobStarted("from-the-future")
	m.JobEnded("from-the-future", agentv1.JobFailed, time.Second)

	m.VaultCall(CallHeartbeat, nil)
	m.VaultCall(CallHeartbeat, errors.New("connection refused"))
	m.VaultCall(CallComplete, &client.APIError{Status: http.StatusConflict})
	m.VaultCall(CallComplete, &client.APIError{Status: http.StatusServiceUnavailable})
	m.HeartbeatAccepted(time.Unix(1_700_000_000, 500_000_000))

	m.HookRuns(BackupHook, []archive.HookExecution{
		{Phase: "pre", Outcome: archive.HookSucceeded}, {Phase: "pre", Outcome: archive.HookFailed},
		{Phase: "post", Outcome: archive.HookTimedOut}, {Phase: "post", Outcome: archive.HookSucceeded},
	})
	m.HookRuns(RestoreHook, []archive.HookExecution{{Phase: "post", Outcome: archive.HookNotRun}})

	const body = `
# HELP cairn_agent_jobs_running Jobs running in the agent, by kind.
# TYPE cairn_agent_jobs_running gauge
cairn_agent_jobs_running{kind="backup"} 0
cairn_agent_jobs_running{kind="fetch"} 0
cairn_agent_jobs_running{kind="inventory"} 0
cairn_agent_jobs_running{kind="browse"} 0
cairn_agent_jobs_running{kind="other"} 0
cairn_agent_jobs_running{kind="restore"} 0
cairn_agent_jobs_running{kind="retention-delete"} 0
cairn_agent_jobs_running{kind="retention-expire-snapshots"} 0
cairn_agent_jobs_running{kind="test-restore"} 0
cairn_agent_jobs_running{kind="validate"} 0
cairn_agent_jobs_running{kind="verify"} 0
# HELP cairn_agent_last_heartbeat_timestamp_seconds When the vault last accepted a heartbeat of the agent (0: never since it started).
# TYPE cairn_agent_last_heartbeat_timestamp_seconds gauge
cairn_agent_last_heartbeat_timestamp_seconds 1.7000000005e+09
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(body), "cairn_agent_jobs_running", "cairn_agent_last_heartbeat_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.jobs.WithLabelValues(agentv1.KindBackup, agentv1.JobSucceeded), 1},
		{m.jobs.WithLabelValues(agentv1.KindBackup, agentv1.JobPartiallyFailed), 1},
		{m.jobs.WithLabelValues(agentv1.KindBackup, agentv1.JobFailed), 0},
		{m.jobs.WithLabelValues("other", agentv1.JobFailed), 1},
		{m.calls.WithLabelValues(CallHeartbeat, ResultOK), 1},
		{m.calls.WithLabelValues(CallHeartbeat, ResultError), 1},
		{m.calls.WithLabelValues(CallComplete, ResultRefused), 1},
		{m.calls.WithLabelValues(CallComplete, ResultError), 1},
		{m.hooks.WithLabelValues(BackupHook, "pre", "succeeded"), 1},
		{m.hooks.WithLabelValues(BackupHook, "pre", "failed"), 1},
		{m.hooks.WithLabelValues(BackupHook, "post", "timed_out"), 1},
		{m.hooks.WithLabelValues(BackupHook, "post", "succeeded"), 1},
		{m.hooks.WithLabelValues(RestoreHook, "post", "not_run"), 1},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", desc(c.c), got, c.want)
		}
	}
	// The durations: one observation each, the negative one as zero.
	if n := testutil.CollectAndCount(m.jobTime); n != 3 {
		t.Errorf("%d duration series, want 3", n)
	}
	if problems, err := testutil.GatherAndLint(m.reg); err != nil || len(problems) > 0 {
		t.Errorf("lint after use: %v %+v", err, problems)
	}
}

func desc(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 1)
	c.Describe(ch)
	return (<-ch).String()
}

// TestNoUnboundedLabels: the label names are the bounded ones the design names, whatever the
// agent records.
func TestNoUnboundedLabels(t *testing.T) {
	m := New()
	ch := make(chan *prometheus.Desc, 20)
	m.Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		n++
		for _, bad := range []string{"recovery_point", "job", "namespace", "path", "instance", "pod", "key"} {
			if strings.Contains(d.String(), `"`+bad+`"`) {
				t.Errorf("%s has a label %s", d, bad)
			}
		}
	}
	if n != 8 {
		t.Errorf("%d metrics described, want 8", n)
	}
}

// TestServe: GET /metrics serves the registry, nothing else is served, and the server stops with
// its context.
func TestServe(t *testing.T) {
	m := New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "cairn_agent_jobs_total") || !strings.Contains(string(body), "go_goroutines") ||
		!strings.Contains(string(body), "process_start_time_seconds") {
		t.Errorf("GET /metrics: %d\n%.500s", resp.StatusCode, body)
	}
	for _, c := range []struct{ method, path string }{{http.MethodGet, "/"}, {http.MethodGet, "/debug/pprof/"}, {http.MethodPost, "/metrics"}} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s %s served", c.method, c.path)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return when its context ended")
	}
	if resp, err := http.Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Error("still serving after the context ended")
	}
}
