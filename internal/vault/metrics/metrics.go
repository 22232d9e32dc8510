package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Metrics is a vault process's registry.
type Metrics struct {
	reg      *prometheus.Registry
	ticks    *prometheus.CounterVec
	lag      prometheus.Gauge
	tickTime prometheus.Histogram
	requests *prometheus.HistogramVec
	jobTime  *prometheus.HistogramVec
	leading  prometheus.Gauge
	dbCopies *prometheus.CounterVec
	dbCopied prometheus.Gauge
}

// New registers the vault's metrics over st, whose gauges are read at each scrape on clock now.
func New(st *store.Store, now func() time.Time, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.ticks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_vault_scheduler_ticks_total",
		Help: "Scheduler ticks by result (ok, error)."}, []string{"result"})
	m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cairn_vault_scheduler_lag_seconds",
		Help: "At the last tick, how long after its due time the latest scheduled backup was queued (0: none was due)."})
	m.tickTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cairn_vault_scheduler_tick_duration_seconds",
		Help: "How long scheduler ticks take.", Buckets: prometheus.ExponentialBucketsRange(0.001, 60, 14)})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cairn_vault_http_request_duration_seconds",
		Help: "API and Backup center requests by route pattern, method and status code.", Buckets: prometheus.ExponentialBucketsRange(0.001, 60, 14)},
		[]string{"route", "method", "code"})
	m.jobTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cairn_vault_job_duration_seconds",
		Help:    "How long the jobs agents completed through this process ran, by kind and final state.",
		Buckets: prometheus.ExponentialBucketsRange(1, 6*3600, 16)}, []string{"kind", "state"})
	m.leading = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cairn_vault_leader",
		Help: "1 when this replica leads (runs the scheduler and the notifier), 0 when another one does."})
	m.dbCopies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cairn_vault_database_copies_total",
		Help: "Copies of the vault's database into its --db-backup-storage, by result (ok, error)."}, []string{"result"})
	m.dbCopied = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cairn_vault_database_copy_last_success_timestamp_seconds",
		Help: "When the newest copy of the vault's database was taken (Unix time; 0: none by this process)."})
	m.reg.MustRegister(m.ticks, m.lag, m.tickTime, m.requests, m.jobTime, m.leading, m.dbCopies, m.dbCopied, newStoreCollector(st, now, log),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveTick records one scheduler tick: how long it took, how late its latest due backup was
// queued, whether it failed.
func (m *Metrics) ObserveTick(took, lag time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.ticks.WithLabelValues(result).Inc()
	m.tickTime.Observe(took.Seconds())
	m.lag.Set(lag.Seconds())
}

// ObserveLeading records whether this replica leads.
func (m *Metrics) ObserveLeading(leading bool) {
	if leading {
		m.leading.Set(1)
		return
	}
	m.leading.Set(0)
}

// ObserveDatabaseCopy records a copy of the vault's database, taken at takenAt when err is nil.
func (m *Metrics) ObserveDatabaseCopy(takenAt time.Time, err error) {
	if err != nil {
		m.dbCopies.WithLabelValues("error").Inc()
		return
	}
	m.dbCopies.WithLabelValues("ok").Inc()
	m.dbCopied.Set(float64(takenAt.Unix()))
}

// ObserveJob records how long a job an agent completed ran.
func (m *Metrics) ObserveJob(kind, state string, ran time.Duration) {
	m.jobTime.WithLabelValues(kind, state).Observe(ran.Seconds())
}
