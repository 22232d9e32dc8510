package metrics

import (
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// StateAbandoned is the final state of a job the agent stopped without completing it: the vault
// took it back (its lease was lost). The other final states are the protocol's.
const StateAbandoned = "abandoned"

// States are the final states a job is counted with.
var States = []string{agentv1.JobSucceeded, agentv1.JobPartiallyFailed, agentv1.JobFailed, agentv1.JobCancelled, StateAbandoned}

// The agent's calls to the vault, as the call label names them.
const (
	CallHeartbeat = "heartbeat"
	CallClaim     = "claim"
	CallProgress  = "progress"
	CallComplete  = "complete"
	CallUpload    = "upload_content"
)

var calls = []string{CallHeartbeat, CallClaim, CallProgress, CallComplete, CallUpload}

// Results of a call to the vault.
const (
	// ResultOK: the vault took the call.
	ResultOK = "ok"
	// ResultError: the call failed on the way, or the vault failed it or asked to slow down
	// (network errors, 5xx, 429); the agent retries it.
	ResultError = "error"
	// ResultRefused: the vault answered with another error (4xx: a revoked token, a lost lease,
	// a body it does not take).
	ResultRefused = "refused"
)

// Kinds of hook resources, as the kind label of hook runs names them.
const (
	BackupHook  = "BackupHook"
	RestoreHook = "RestoreHook"
)

var (
	hookPhases = []string{"pre", "post"}
	// hookResults are the hook outcomes (archive.Hook*) as label values.
	hookResults = map[string]string{archive.HookSucceeded: "succeeded", archive.HookFailed: "failed",
		archive.HookTimedOut: "timed_out", archive.HookNotRun: "not_run"}
)

// otherKind labels a job of a kind this agent does not know, which keeps the label bounded.
const otherKind = "other"

// Metrics is an agent process's registry. Its methods are safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	jobs      *prometheus.CounterVec
	jobTime   *prometheus.HistogramVec
	running   *prometheus.GaugeVec
	items     *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	calls     *prometheus.CounterVec
	heartbeat prometheus.Gauge
	hooks     *prometheus.CounterVec
}

// New returns a registry with the agent's metrics and the Go and process collectors. The series
// of every kind, state, call and result start at zero, so that increase() sees their first event.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_agent_jobs_total",
		Help: "Jobs the agent ran to their end, by kind and final state (succeeded, partially-failed, failed, cancelled, abandoned: its lease was lost)."},
		[]string{"kind", "state"})
	m.jobTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cairn_agent_job_duration_seconds",
		Help:    "How long the jobs the agent ran took, from claim to end, by kind and final state.",
		Buckets: prometheus.ExponentialBucketsRange(1, 6*3600, 16)}, []string{"kind", "state"})
	m.running = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cairn_agent_jobs_running",
		Help: "Jobs running in the agent, by kind."}, []string{"kind"})
	m.items = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_agent_job_items_total",
		Help: "Items (objects, files, volumes, entries) the agent's jobs processed, by kind, as their progress reports count them."},
		[]string{"kind"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_agent_job_bytes_total",
		Help: "Bytes the agent's jobs processed, by kind, as their progress reports count them."}, []string{"kind"})
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_agent_vault_calls_total",
		Help: "The agent's calls to the vault by call and result (ok; error: network, 5xx or 429, retried; refused: another 4xx)."},
		[]string{"call", "result"})
	m.heartbeat = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cairn_agent_last_heartbeat_timestamp_seconds",
		Help: "When the vault last accepted a heartbeat of the agent (0: never since it started)."})
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_agent_hook_runs_total",
		Help: "Hook commands the agent's jobs ran, by hook kind (BackupHook, RestoreHook), phase (pre, post) and result (succeeded, failed, timed_out, not_run)."},
		[]string{"kind", "phase", "result"})
	for _, kind := range agentv1.Kinds {
		for _, state := range States {
			m.jobs.WithLabelValues(kind, state)
		}
		m.running.WithLabelValues(kind)
		m.items.WithLabelValues(kind)
		m.bytes.WithLabelValues(kind)
	}
	for _, call := range calls {
		for _, result := range []string{ResultOK, ResultError, ResultRefused} {
			m.calls.WithLabelValues(call, result)
		}
	}
	for _, kind := range []string{BackupHook, RestoreHook} {
		for _, phase := range hookPhases {
			for _, result := range hookResults {
				m.hooks.WithLabelValues(kind, phase, result)
			}
		}
	}
	m.reg.MustRegister(m.own()...)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// own are the agent's own collectors.
func (m *Metrics) own() []prometheus.Collector {
	return []prometheus.Collector{m.jobs, m.jobTime, m.running, m.items, m.bytes, m.calls, m.heartbeat, m.hooks}
}

// Describe sends the descriptions of the agent's own metrics: those of its storage are package
// blob/metrics's, the Go and process collectors' the client library's.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.own() {
		c.Describe(ch)
	}
}

// Registerer is where the agent's storage registers its metrics (package blob/metrics).
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// JobStarted counts a job of kind as running, until JobEnded.
func (m *Metrics) JobStarted(kind string) {
	m.running.WithLabelValues(kindLabel(kind)).Inc()
}

// JobEnded records a job that JobStarted counted: its final state and how long it ran.
func (m *Metrics) JobEnded(kind, state string, ran time.Duration) {
	kind = kindLabel(kind)
	m.running.WithLabelValues(kind).Dec()
	m.jobs.WithLabelValues(kind, state).Inc()
	m.jobTime.WithLabelValues(kind, state).Observe(max(ran, 0).Seconds())
}

// VaultCall counts a call to the vault by how it ended: err is what the vault's client returned.
func (m *Metrics) VaultCall(call string, err error) {
	result := ResultOK
	switch {
	case err == nil:
	case client.Transient(err):
		result = ResultError
	default:
		result = ResultRefused
	}
	m.calls.WithLabelValues(call, result).Inc()
}

// HeartbeatAccepted records when the vault accepted a heartbeat.
func (m *Metrics) HeartbeatAccepted(at time.Time) {
	m.heartbeat.Set(float64(at.UnixNano()) / 1e9)
}

// HookRuns counts the hook commands a job ran, as its result records them; kind is BackupHook or
// RestoreHook.
func (m *Metrics) HookRuns(kind string, execs []archive.HookExecution) {
	for _, x := range execs {
		result, ok := hookResults[x.Outcome]
		if !ok {
			result = "failed"
		}
		phase := x.Phase
		if !slices.Contains(hookPhases, phase) {
			phase = "other"
		}
		m.hooks.WithLabelValues(kind, phase, result).Inc()
	}
}

// kindLabel is a job's kind as a label value: one this agent knows, else otherKind.
func kindLabel(kind string) string {
	if slices.Contains(agentv1.Kinds, kind) {
		return kind
	}
	return otherKind
}
