package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// fakeVault implements the agent routes of the vault in memory.
type fakeVault struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	queue       []*agentv1.Job
	claims      int
	heartbeats  []agentv1.Heartbeat
	reports     map[int64][]agentv1.ProgressReport
	completions map[int64][]agentv1.Completion
	cancel      map[int64]bool
	// Scripted failures: the status the next n calls of a route answer with (0 closes the connection).
	refuse map[string][]int
	// namespaces are the cluster's, as the fake API server lists them; listStatus, when set, is
	// its answer instead.
	namespaces []string
	listStatus int
	// oldVault refuses heartbeats with namespaces as an unknown field, as a vault older than the
	// field does.
	oldVault bool
	// progressDelay is how long a progress report is answered after the vault stored it.
	progressDelay time.Duration
	// contents are the files fetch jobs uploaded, by job.
	contents map[int64][]byte
}

func newFakeVault(t *testing.T) *fakeVault {
	v := &fakeVault{t: t, reports: map[int64][]agentv1.ProgressReport{}, completions: map[int64][]agentv1.Completion{},
		cancel: map[int64]bool{}, refuse: map[string][]int{}, namespaces: []string{"shop", "default"}, contents: map[int64][]byte{}}
	mux := http.NewServeMux()
	// The agent's cluster: the fake serves the API server's routes the heartbeat reads too.
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"major":"1","minor":"99","gitVersion":"v1.99.0"}`))
	})
	mux.HandleFunc("GET /api/v1/namespaces", func(w http.ResponseWriter, _ *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.listStatus != 0 {
			writeError(w, v.listStatus, "forbidden", "scripted failure")
			return
		}
		list := corev1.NamespaceList{TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"}}
		for _, n := range v.namespaces {
			list.Items = append(list.Items, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
		writeJSON(w, list)
	})
	mux.HandleFunc("POST /api/v1/agent/heartbeat", v.auth("heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var hb agentv1.Heartbeat
		v.decode(r, &hb)
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.oldVault && hb.Namespaces != nil {
			writeError(w, http.StatusBadRequest, "bad_request", `request body: json: unknown field "namespaces"`)
			return
		}
		v.heartbeats = append(v.heartbeats, hb)
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/v1/agent/claim", v.auth("claim", func(w http.ResponseWriter, _ *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if len(v.queue) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		job := v.queue[0]
		v.queue = v.queue[1:]
		job.State = agentv1.JobRunning
		writeJSON(w, job)
	}))
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/progress", v.auth("progress", func(w http.ResponseWriter, r *http.Request) {
		var rep agentv1.ProgressReport
		v.decode(r, &rep)
		id := jobID(r)
		v.mu.Lock()
		v.reports[id] = append(v.reports[id], rep)
		cancel, delay := v.cancel[id], v.progressDelay
		v.mu.Unlock()
		time.Sleep(delay)
		writeJSON(w, agentv1.ProgressReply{Cancel: cancel})
	}))
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/complete", v.auth("complete", func(w http.ResponseWriter, r *http.Request) {
		var c agentv1.Completion
		v.decode(r, &c)
		v.mu.Lock()
		v.completions[jobID(r)] = append(v.completions[jobID(r)], c)
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("PUT /api/v1/agent/jobs/{id}/content", v.auth("content", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		v.mu.Lock()
		v.contents[jobID(r)] = data
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	return v
}

// auth checks the token and answers with a scripted failure when one is due.
func (v *fakeVault) auth(route string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer agent-token" {
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or unknown token")
			return
		}
		v.mu.Lock()
		if route == "claim" {
			v.claims++
		}
		var status int
		scripted := len(v.refuse[route]) > 0
		if scripted {
			status, v.refuse[route] = v.refuse[route][0], v.refuse[route][1:]
		}
		v.mu.Unlock()
		switch {
		case !scripted:
			next(w, r)
		case status == 0:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			writeError(w, status, strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_"), "scripted failure")
		}
	}
}

func (v *fakeVault) decode(r *http.Request, into any) {
	if err := json.NewDecoder(r.Body).Decode(into); err != nil {
		v.t.Errorf("%s: decode body: %v", r.URL.Path, err)
	}
}

func jobID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (v *fakeVault) enqueue(jobs ...*agentv1.Job) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.queue = append(v.queue, jobs...)
}

func (v *fakeVault) script(route string, statuses ...int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refuse[route] = append(v.refuse[route], statuses...)
}

func (v *fakeVault) completion(id int64) []agentv1.Completion {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]agentv1.Completion(nil), v.completions[id]...)
}

func (v *fakeVault) claimCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.claims
}

// logs returns every log line the vault received for a job, from progress reports and completion.
func (v *fakeVault) logs(id int64) []agentv1.LogLine {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []agentv1.LogLine
	for _, r := range v.reports[id] {
		out = append(out, r.Logs...)
	}
	for _, c := range v.completions[id] {
		out = append(out, c.Logs...)
	}
	return out
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testAgent is an agent against v with short periods; execute, if set, replaces the engines.
func testAgent(t *testing.T, v *fakeVault, mod func(*Options), execute func(context.Context, *jobRun) outcome) (*agent, *testenv.LockedBuffer) {
	t.Helper()
	logs := &testenv.LockedBuffer{}
	opts := Options{VaultURL: v.srv.URL, Token: "agent-token", Config: &rest.Config{Host: v.srv.URL}, Version: "v0.test",
		HeartbeatEvery: 20 * time.Millisecond, ProgressEvery: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&opts)
	}
	a, err := newAgent(opts)
	if err != nil {
		t.Fatal(err)
	}
	a.t = timing{retryBase: 10 * time.Millisecond, retryMax: 40 * time.Millisecond, unauthorizedRetry: 100 * time.Millisecond,
		minClaimInterval: 5 * time.Millisecond, batchWindow: 2 * time.Millisecond, stopGrace: 500 * time.Millisecond,
		completeFor: 5 * time.Second, callTimeout: 2 * time.Second}
	if execute != nil {
		a.execute = execute
	}
	return a, logs
}

// start runs a until the test ends, then checks that it stopped.
func start(t *testing.T, a *agent) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		a.run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the agent did not stop")
		}
	})
	return cancel
}

func backupJob(id int64) *agentv1.Job {
	return &agentv1.Job{ID: id, Kind: agentv1.KindBackup, Instance: "shop", Cluster: "c1", State: agentv1.JobQueued, Attempt: 1,
		Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: fmt.Sprintf("shop-%d", id)}}}
}

func TestClaimRunComplete(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(7))
	a, _ := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		j.log.Info("working", "step", 1)
		j.progress(3, 300, "configmaps")
		j.log.Warn("something odd")
		return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Name: j.job.Spec.Backup.RecoveryPoint, Items: 3}}}
	})
	start(t, a)
	waitFor(t, "the completion", func() bool { return len(v.completion(7)) > 0 })
	c := v.completion(7)
	if len(c) != 1 || c[0].State != agentv1.JobSucceeded || c[0].Result == nil || c[0].Result.RecoveryPoint.Name != "shop-7" {
		t.Fatalf("completion = %+v", c)
	}
	var text []string
	for _, l := range v.logs(7) {
		text = append(text, l.Level+" "+l.Message)
	}
	joined := strings.Join(text, "\n")
	for _, want := range []string{"info job started", "info working step=1", "warn something odd", "info job finished state=succeeded"} {
		if !strings.Contains(joined, want) {
			t.Errorf("job log lacks %q:\n%s", want, joined)
		}
	}
	waitFor(t, "a heartbeat", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.heartbeats) > 0
	})
	v.mu.Lock()
	hb := v.heartbeats[0]
	v.mu.Unlock()
	if hb.AgentVersion != "v0.test" || hb.KubernetesVersion != "v1.99.0" || !slices.Equal(hb.Namespaces, []string{"default", "shop"}) {
		t.Errorf("heartbeat = %+v", hb)
	}
}

// heartbeatAfter waits for more than n heartbeats and returns the last.
func (v *fakeVault) heartbeatAfter(t *testing.T, n int) agentv1.Heartbeat {
	t.Helper()
	waitFor(t, fmt.Sprintf("heartbeat %d", n+1), func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.heartbeats) > n
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.heartbeats[len(v.heartbeats)-1]
}

// TestHeartbeatWithoutNamespaces: namespaces the agent cannot list do not hold heartbeats back;
// the failure is logged once, at warn, and so is the recovery.
func TestHeartbeatWithoutNamespaces(t *testing.T) {
	v := newFakeVault(t)
	v.listStatus = http.StatusForbidden
	a, logs := testAgent(t, v, nil, nil)
	start(t, a)
	if hb := v.heartbeatAfter(t, 3); hb.Namespaces != nil || hb.KubernetesVersion != "v1.99.0" {
		t.Fatalf("heartbeat = %+v", hb)
	}
	v.mu.Lock()
	v.listStatus = 0
	v.mu.Unlock()
	waitFor(t, "a heartbeat with namespaces", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.heartbeats[len(v.heartbeats)-1].Namespaces != nil
	})
	out := logs.String()
	if n := strings.Count(out, `level=WARN msg="cannot list the cluster's namespaces`); n != 1 {
		t.Errorf("the list failure should be logged once at warn, got %d:\n%s", n, out)
	}
	if !strings.Contains(out, "the cluster's namespaces are listed again") || strings.Contains(out, "heartbeat failed") {
		t.Errorf("log:\n%s", out)
	}
}

// TestHeartbeatToAnOlderVault: a vault that refuses the namespaces field gets each heartbeat
// again without it, with one warning.
func TestHeartbeatToAnOlderVault(t *testing.T) {
	v := newFakeVault(t)
	v.oldVault = true
	a, logs := testAgent(t, v, nil, nil)
	start(t, a)
	if hb := v.heartbeatAfter(t, 3); hb.Namespaces != nil || hb.AgentVersion != "v0.test" || hb.KubernetesVersion != "v1.99.0" {
		t.Fatalf("heartbeat = %+v", hb)
	}
	out := logs.String()
	if n := strings.Count(out, "the vault refused the cluster's namespaces"); n != 1 || strings.Contains(out, "heartbeat failed") {
		t.Errorf("want one warning and no failed heartbeat, got %d:\n%s", n, out)
	}
}

func TestProgressReportsRenewWhileRunning(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(1))
	release := make(chan struct{})
	a, _ := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		j.progress(42, 4200, "secrets")
		<-release
		return outcome{state: agentv1.JobSucceeded}
	})
	start(t, a)
	waitFor(t, "several progress reports", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		n := 0
		for _, r := range v.reports[1] {
			if r.Progress.Items == 42 && r.Progress.Message == "secrets" {
				n++
			}
		}
		return n >= 3
	})
	close(release)
	waitFor(t, "the completion", func() bool { return len(v.completion(1)) > 0 })
}

func TestCancelRequestedByVault(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(3))
	v.cancel[3] = true
	a, _ := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		<-ctx.Done()
		return failed(nil, fmt.Errorf("backup interrupted: %w", ctx.Err()))
	})
	start(t, a)
	waitFor(t, "the completion", func() bool { return len(v.completion(3)) > 0 })
	c := v.completion(3)[0]
	if c.State != agentv1.JobCancelled || !strings.Contains(c.Error, "cancelled on request") {
		t.Fatalf("completion = %+v", c)
	}
}

func TestLeaseLostStopsJobWithoutCompletion(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(4))
	v.script("progress", http.StatusConflict)
	causes := make(chan error, 1)
	a, logs := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		j.log.Info("started") // makes the first report go out at once
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return failed(nil, ctx.Err())
	})
	start(t, a)
	select {
	case cause := <-causes:
		if !errors.Is(cause, errLeaseLost) {
			t.Fatalf("job cancelled with %v, want lease lost", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not stopped")
	}
	waitFor(t, "the abandoned job's log", func() bool { return strings.Contains(logs.String(), "lease was lost") })
	time.Sleep(100 * time.Millisecond)
	if c := v.completion(4); len(c) != 0 {
		t.Fatalf("a job whose lease was lost was completed: %+v", c)
	}
}

func TestUnauthorizedRetriesSlowly(t *testing.T) {
	v := newFakeVault(t)
	v.script("claim", 401, 401, 401)
	v.enqueue(backupJob(5))
	a, logs := testAgent(t, v, nil, func(context.Context, *jobRun) outcome { return outcome{state: agentv1.JobSucceeded} })
	began := time.Now()
	start(t, a)
	waitFor(t, "the completion after the refusals", func() bool { return len(v.completion(5)) > 0 })
	// Three refusals, each followed by unauthorizedRetry (100ms), then the claim that succeeds.
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("claimed after %s: the agent did not wait after each 401", took)
	}
	if n := v.claimCount(); n > 6 {
		t.Errorf("%d claims: a revoked agent must retry slowly", n)
	}
	if out := logs.String(); strings.Count(out, "trust grant was revoked") != 1 {
		t.Errorf("the refusal should be logged once, clearly:\n%s", out)
	}
}

func TestNetworkErrorsBackOff(t *testing.T) {
	v := newFakeVault(t)
	v.script("claim", make([]int, 100)...)
	a, logs := testAgent(t, v, nil, nil)
	start(t, a)
	time.Sleep(300 * time.Millisecond)
	// Backing off 10, 20, 40, 40, 40... ms: about 8 attempts in 300ms; without a back-off, hundreds.
	if n := v.claimCount(); n < 3 || n > 12 {
		t.Errorf("%d claims in 300ms while the vault was unreachable", n)
	}
	if !strings.Contains(logs.String(), "cannot claim jobs from the vault") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

func TestCompletionRetriedAfterTransientFailure(t *testing.T) {
	v := newFakeVault(t)
	v.script("complete", http.StatusServiceUnavailable, 0)
	v.enqueue(backupJob(6))
	a, logs := testAgent(t, v, nil, func(context.Context, *jobRun) outcome { return outcome{state: agentv1.JobSucceeded} })
	start(t, a)
	waitFor(t, "the completion", func() bool { return len(v.completion(6)) > 0 })
	if c := v.completion(6); len(c) != 1 || c[0].State != agentv1.JobSucceeded {
		t.Fatalf("completions = %+v", c)
	}
	if strings.Count(logs.String(), "cannot complete the job yet") != 2 {
		t.Errorf("want two retried completions:\n%s", logs.String())
	}
}

func TestAgentStopFailsRunningJobs(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(8))
	running := make(chan struct{})
	a, _ := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		close(running)
		<-ctx.Done()
		return failed(nil, ctx.Err())
	})
	stop := start(t, a)
	<-running
	stop()
	waitFor(t, "the completion", func() bool { return len(v.completion(8)) > 0 })
	if c := v.completion(8)[0]; c.State != agentv1.JobFailed || !strings.HasPrefix(c.Error, "agent stopped: ") {
		t.Fatalf("completion = %+v", c)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(backupJob(11), backupJob(12), backupJob(13))
	var mu sync.Mutex
	running, most := 0, 0
	release := make(chan struct{})
	a, _ := testAgent(t, v, func(o *Options) { o.Concurrency = 2 }, func(ctx context.Context, j *jobRun) outcome {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return outcome{state: agentv1.JobSucceeded}
	})
	start(t, a)
	waitFor(t, "two running jobs", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return running == 2
	})
	time.Sleep(50 * time.Millisecond)
	v.mu.Lock()
	queued := len(v.queue)
	v.mu.Unlock()
	if queued != 1 {
		t.Errorf("%d jobs left in the queue, want 1: the agent claimed without a free slot", queued)
	}
	close(release)
	waitFor(t, "all completions", func() bool {
		return len(v.completion(13)) > 0 && len(v.completion(12)) > 0 && len(v.completion(11)) > 0
	})
	if most != 2 {
		t.Errorf("at most %d jobs ran at once, want 2", most)
	}
}

func TestUnknownKindFails(t *testing.T) {
	v := newFakeVault(t)
	v.enqueue(&agentv1.Job{ID: 9, Kind: "defragment"}, &agentv1.Job{ID: 10, Kind: agentv1.KindVerify})
	a, _ := testAgent(t, v, nil, nil)
	start(t, a)
	waitFor(t, "the completions", func() bool { return len(v.completion(9)) > 0 && len(v.completion(10)) > 0 })
	if c := v.completion(9)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "upgrade the agent") {
		t.Errorf("unknown kind: %+v", c)
	}
	if c := v.completion(10)[0]; c.State != agentv1.JobFailed || !strings.Contains(c.Error, "carries no verify spec") {
		t.Errorf("kind without spec: %+v", c)
	}
}

func TestOptionsChecked(t *testing.T) {
	for name, o := range map[string]Options{
		"no token":  {VaultURL: "https://v", Config: &rest.Config{}},
		"no config": {VaultURL: "https://v", Token: "t"},
		"bad url":   {VaultURL: "vault:8443", Token: "t", Config: &rest.Config{}},
	} {
		if err := Run(context.Background(), o); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
}

func TestJobLoggerTeesToVault(t *testing.T) {
	rep := newReporter(time.Now)
	var agentOut bytes.Buffer
	log := newJobLogger(slog.New(slog.NewTextHandler(&agentOut, nil)).With("job", 5), rep)
	log.With("backup", "nightly").WithGroup("g").Info("backup started", "resources", 3, "note", "two words")
	log.Debug("not for the vault")
	log.Error("boom")
	_, lines, _ := rep.take()
	if len(lines) != 2 {
		t.Fatalf("lines = %+v", lines)
	}
	if got, want := lines[0].Message, `backup started backup=nightly g.resources=3 g.note="two words"`; got != want || lines[0].Level != levelInfo {
		t.Errorf("line = %q (%s), want %q", got, lines[0].Level, want)
	}
	if lines[1].Level != levelError {
		t.Errorf("level = %s", lines[1].Level)
	}
	if out := agentOut.String(); !strings.Contains(out, "job=5 backup=nightly") {
		t.Errorf("agent log lacks the fixed keys: %s", out)
	}
}

func TestReporterBoundsPendingLines(t *testing.T) {
	rep := newReporter(time.Now)
	for i := range maxPendingLogs + 5 {
		rep.add(levelInfo, fmt.Sprint(i))
	}
	_, lines, _ := rep.take()
	if len(lines) != maxPendingLogs+1 || !strings.Contains(lines[0].Message, "5 log lines were dropped") || lines[1].Message != "5" {
		t.Fatalf("got %d lines, first %+v", len(lines), lines[:2])
	}
}

func TestReportsAndCompletionsStayUnderTheVaultLimit(t *testing.T) {
	rep := newReporter(time.Now)
	for range 100 {
		rep.add(levelInfo, strings.Repeat("x", maxLogMessage+100))
	}
	_, lines, more := rep.take()
	size := 0
	for _, l := range lines {
		size += len(l.Message) + logLineOverhead
		if len(l.Message) > maxLogMessage+20 {
			t.Fatalf("a line of %d bytes was not truncated", len(l.Message))
		}
	}
	if !more || size > maxReportLogBytes || len(lines) == 0 {
		t.Errorf("took %d lines (%d bytes), more=%v", len(lines), size, more)
	}

	sum := &agentv1.RestoreSummary{Name: "r"}
	for i := range agentv1.MaxRestoreItems {
		sum.Items = append(sum.Items, agentv1.RestoreItem{Resource: "configmaps", Name: fmt.Sprint(i), Action: "patch",
			Reason: strings.Repeat("r", 2048), Diff: strings.Repeat("d", maxItemDiff)})
	}
	c := agentv1.Completion{State: agentv1.JobPartiallyFailed, Result: &agentv1.JobResult{Restore: sum, Errors: make([]string, 300)}}
	for i := range maxPendingLogs {
		c.Logs = append(c.Logs, agentv1.LogLine{Message: fmt.Sprintf("%d %s", i, strings.Repeat("l", 1024))})
	}
	fitted := fitCompletion(c)
	data, err := json.Marshal(fitted)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > maxCompletionBytes {
		t.Errorf("fitted completion is %d bytes", len(data))
	}
	if r := fitted.Result; r == nil || r.Restore == nil || len(r.Restore.Items) < 50 || !strings.Contains(strings.Join(r.Warnings, "\n"), "trimmed") {
		t.Errorf("fitted result lost too much: %+v", r)
	}
	if last := fitted.Logs[len(fitted.Logs)-1].Message; !strings.HasPrefix(last, fmt.Sprint(maxPendingLogs-1)+" ") {
		t.Errorf("the last log line was not kept: %.20s", last)
	}
	if sum.Items[0].Diff == "" || len(c.Logs) != maxPendingLogs {
		t.Error("fitCompletion changed the completion it was given")
	}
	small := agentv1.Completion{State: agentv1.JobSucceeded, Logs: []agentv1.LogLine{{Message: "ok"}}}
	if got := fitCompletion(small); len(got.Logs) != 1 || got.Result != nil {
		t.Errorf("a small completion was changed: %+v", got)
	}
}

func TestProgressRetriedAfterTransientFailure(t *testing.T) {
	v := newFakeVault(t)
	v.script("progress", http.StatusServiceUnavailable, 0)
	v.enqueue(backupJob(21))
	a, logs := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		j.log.Info("hello")
		waitFor(t, "the line in a progress report", func() bool {
			v.mu.Lock()
			defer v.mu.Unlock()
			for _, r := range v.reports[21] {
				for _, l := range r.Logs {
					if l.Message == "hello" {
						return true
					}
				}
			}
			return false
		})
		return outcome{state: agentv1.JobSucceeded}
	})
	start(t, a)
	waitFor(t, "the completion", func() bool { return len(v.completion(21)) > 0 })
	if c := v.completion(21)[0]; c.State != agentv1.JobSucceeded {
		t.Errorf("completion = %+v", c)
	}
	if n := strings.Count(logs.String(), "progress report failed"); n != 1 {
		t.Errorf("the failing reports should be logged once, got %d:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "progress reports accepted again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// A job that ends while a progress report is on its way: the vault has stored the report's lines,
// so the completion must not carry them again.
func TestLinesOfAReportInFlightAreNotSentTwice(t *testing.T) {
	v := newFakeVault(t)
	v.progressDelay = 300 * time.Millisecond
	v.enqueue(backupJob(31))
	a, _ := testAgent(t, v, nil, func(ctx context.Context, j *jobRun) outcome {
		waitFor(t, "the first progress report", func() bool {
			v.mu.Lock()
			defer v.mu.Unlock()
			return len(v.reports[31]) > 0
		})
		return outcome{state: agentv1.JobSucceeded}
	})
	start(t, a)
	waitFor(t, "the completion", func() bool { return len(v.completion(31)) > 0 })
	seen := map[string]int{}
	v.mu.Lock()
	for _, r := range v.reports[31] {
		for _, l := range r.Logs {
			seen[l.Message]++
		}
	}
	v.mu.Unlock()
	for _, l := range v.completion(31)[0].Logs {
		seen[l.Message]++
	}
	for msg, n := range seen {
		if n != 1 {
			t.Errorf("%q reached the vault %d times", msg, n)
		}
	}
}

// content is what fetch job id uploaded (nil: nothing).
func (v *fakeVault) content(id int64) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.contents[id]
}
