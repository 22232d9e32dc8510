package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// scrapeTimeout bounds the store queries of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	descJobs = prometheus.NewDesc("cairn_vault_jobs", "Jobs in the vault's history by kind and state.",
		[]string{"vault", "kind", "state"}, nil)
	descQueueAge = prometheus.NewDesc("cairn_vault_queue_oldest_age_seconds", "Age of the oldest queued job by kind (absent: none queued).",
		[]string{"vault", "kind"}, nil)
	descLastGood = prometheus.NewDesc("cairn_vault_instance_last_good_backup_timestamp_seconds",
		"When the instance's newest recovery point whose backup completed was taken (absent: none).", []string{"vault", "instance_name", "cluster"}, nil)
	descRPO = prometheus.NewDesc("cairn_vault_instance_rpo_seconds", "The instance's recovery point objective.",
		[]string{"vault", "instance_name", "cluster"}, nil)
	descBreached = prometheus.NewDesc("cairn_vault_instance_rpo_breached",
		"1 when the instance's newest good recovery point is older than its objective, else 0 (absent: stopped).", []string{"vault", "instance_name", "cluster"}, nil)
	descHealthy = prometheus.NewDesc("cairn_vault_cluster_healthy", "1 when the cluster's agent reported in time, else 0.",
		[]string{"vault", "cluster"}, nil)
	descDeliveries = prometheus.NewDesc("cairn_vault_notification_deliveries",
		"Notification deliveries in the vault's delivery log by state (pending, delivered, failed).", []string{"vault", "state"}, nil)
	descScrapeErrors = prometheus.NewDesc("cairn_vault_metrics_store_errors", "1 when this scrape could not read part of the store (the vault logs why).",
		nil, nil)
)

// storeCollector reads the gauges from the store at each scrape.
type storeCollector struct {
	st  *store.Store
	now func() time.Time
	log *slog.Logger
}

func newStoreCollector(st *store.Store, now func() time.Time, log *slog.Logger) *storeCollector {
	return &storeCollector{st: st, now: now, log: log}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descQueueAge, descLastGood, descRPO, descBreached, descHealthy, descDeliveries, descScrapeErrors} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0.0
	vaults, err := c.st.Vaults(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "metrics: vaults not read", "error", err)
		failed = 1
	}
	now := c.now()
	for _, v := range vaults {
		for _, collect := range []func(context.Context, string, time.Time, chan<- prometheus.Metric) error{c.jobs, c.instances, c.clusters, c.deliveries} {
			if err := collect(ctx, v, now, ch); err != nil {
				c.log.WarnContext(ctx, "metrics: part of the store not read", "vault", v, "error", err)
				failed = 1
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErrors, prometheus.GaugeValue, failed)
}

func (c *storeCollector) jobs(ctx context.Context, vault string, now time.Time, ch chan<- prometheus.Metric) error {
	counts, err := c.st.JobsByKindAndState(ctx, vault)
	if err != nil {
		return err
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(n.Count), vault, n.Kind, n.State)
	}
	oldest, err := c.st.OldestQueued(ctx, vault)
	if err != nil {
		return err
	}
	for kind, at := range oldest {
		ch <- prometheus.MustNewConstMetric(descQueueAge, prometheus.GaugeValue, max(now.Sub(at).Seconds(), 0), vault, kind)
	}
	return nil
}

func (c *storeCollector) instances(ctx context.Context, vault string, now time.Time, ch chan<- prometheus.Metric) error {
	standings, err := c.st.InstanceStandings(ctx, vault, archive.PhaseCompleted, now)
	if err != nil {
		return err
	}
	for _, st := range standings {
		labels := []string{vault, st.Instance.Name, st.Instance.Cluster}
		if st.RPO.LastGood != nil {
			ch <- prometheus.MustNewConstMetric(descLastGood, prometheus.GaugeValue, float64(st.RPO.LastGood.UnixNano())/1e9, labels...)
		}
		ch <- prometheus.MustNewConstMetric(descRPO, prometheus.GaugeValue, st.RPO.Objective.Seconds(), labels...)
		if st.RPO.State == policy.RPOPaused {
			continue
		}
		breached := 0.0
		if st.RPO.State == policy.RPOBreached {
			breached = 1
		}
		ch <- prometheus.MustNewConstMetric(descBreached, prometheus.GaugeValue, breached, labels...)
	}
	return nil
}

func (c *storeCollector) clusters(ctx context.Context, vault string, _ time.Time, ch chan<- prometheus.Metric) error {
	clusters, err := c.st.ListClusters(ctx, vault)
	if err != nil {
		return err
	}
	for _, cl := range clusters {
		healthy := 0.0
		if cl.Health == store.HealthHealthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, healthy, vault, cl.Name)
	}
	return nil
}

func (c *storeCollector) deliveries(ctx context.Context, vault string, _ time.Time, ch chan<- prometheus.Metric) error {
	counts, err := c.st.DeliveriesByState(ctx, vault)
	if err != nil {
		return err
	}
	for _, state := range vaultv1.DeliveryStates {
		ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.GaugeValue, float64(counts[state]), vault, state)
	}
	return nil
}
