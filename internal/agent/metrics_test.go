package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
)

// TestJobsRecordedInMetrics runs three jobs through the agent against the fake vault: one whose
// lease is lost, a backup that reports progress in two stages and then its totals, a restore that
// fails. The metrics count each job by kind and final state, the items and bytes from the
// progress reports (each stage's increase, the totals not again), the calls to the vault by
// result, and the last accepted heartbeat; no job is left counted as running.
func TestJobsRecordedInMetrics(t *testing.T) {
	v := newFakeVault(t)
	lost := backupJob(9)
	restoreJob := &agentv1.Job{ID: 8, Kind: agentv1.KindRestore, Cluster: "c1", State: agentv1.JobQueued, Attempt: 1,
		Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{Name: "r", RecoveryPoint: "shop-7"}}}
	v.enqueue(lost, backupJob(7), restoreJob)
	v.script("progress", http.StatusConflict)       // the first job's first report: its lease is lost
	v.script("heartbeat", http.StatusBadGateway, 0) // a failing vault, then a broken connection
	m := metrics.New()
	a, _ := testAgent(t, v, func(o *Options) { o.Metrics = m }, func(ctx context.Context, j *jobRun) outcome {
		switch j.job.ID {
		case 9:
			j.log.Info("started") // makes the first report go out at once
			<-ctx.Done()
			return failed(nil, ctx.Err())
		case 7:
			j.stageProgress("backing up", 10, 1000, "configmaps")
			j.stageProgress("backing up", 30, 3000, "secrets")
			j.stageProgress("copying volume data", 1, 500, "shop/data")
			j.totals(30, 3000, "committed")
			return outcome{state: agentv1.JobSucceeded}
		}
		j.progress(0, 0, "opening the repository")
		j.progress(4, 0, "restoring")
		return outcome{state: agentv1.JobFailed, err: "restore failed"}
	})
	start(t, a)
	waitFor(t, "the completions", func() bool { return len(v.completion(7)) > 0 && len(v.completion(8)) > 0 })

	want := []string{
		`cairn_agent_jobs_total{kind="backup",state="abandoned"} 1`,
		`cairn_agent_jobs_total{kind="backup",state="succeeded"} 1`,
		`cairn_agent_jobs_total{kind="restore",state="failed"} 1`,
		`cairn_agent_jobs_total{kind="restore",state="succeeded"} 0`,
		`cairn_agent_job_duration_seconds_count{kind="backup",state="succeeded"} 1`,
		`cairn_agent_jobs_running{kind="backup"} 0`,
		`cairn_agent_jobs_running{kind="restore"} 0`,
		`cairn_agent_job_items_total{kind="backup"} 31`,
		`cairn_agent_job_bytes_total{kind="backup"} 3500`,
		`cairn_agent_job_items_total{kind="restore"} 4`,
		`cairn_agent_vault_calls_total{call="complete",result="ok"} 2`,
		`cairn_agent_vault_calls_total{call="progress",result="refused"} 1`,
		`cairn_agent_vault_calls_total{call="heartbeat",result="error"} 2`,
	}
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		body = scrape(t, m)
		var missing []string
		for _, w := range want {
			if !hasLine(body, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metrics lack\n%s\nthey hold:\n%s", strings.Join(missing, "\n"), grep(body, "cairn_agent_"))
		}
	}
	waitFor(t, "an accepted heartbeat in the metrics", func() bool {
		body = scrape(t, m)
		return !hasLine(body, `cairn_agent_last_heartbeat_timestamp_seconds 0`) && !hasLine(body, `cairn_agent_vault_calls_total{call="heartbeat",result="ok"} 0`)
	})
	if strings.Contains(body, `shop-7`) || strings.Contains(body, `job="`) {
		t.Errorf("a recovery point or job in the labels:\n%s", grep(body, "shop-7"))
	}
}

// TestMetricsServed: the agent serves its metrics on the listener it is given until it stops;
// Run closes the listener when its options are unusable.
func TestMetricsServed(t *testing.T) {
	v := newFakeVault(t)
	a, _ := testAgent(t, v, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := a.serveMetrics(t.Context(), ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "cairn_agent_jobs_total") {
		t.Errorf("GET /metrics: %d\n%.300s", resp.StatusCode, body)
	}
	stop()
	if resp, err := http.Get("http://" + ln.Addr().String() + "/metrics"); err == nil {
		resp.Body.Close()
		t.Error("metrics still served after stop")
	}

	unused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(t.Context(), Options{VaultURL: "https://v", Config: &rest.Config{}, MetricsListener: unused}); err == nil {
		t.Fatal("Run accepted options without a token")
	}
	if conn, err := unused.Accept(); err == nil {
		conn.Close()
		t.Error("Run left the metrics listener open")
	}
}

// scrape returns the text m serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func hasLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func grep(body, what string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
