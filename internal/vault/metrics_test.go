package vault

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/promtest"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestMetricsScrapedByPrometheus serves a vault with an hourly instance and no agent, moves its
// clock 3 hours on, and has a real Prometheus scrape /metrics: the instance breaches its 2-hour
// objective, its scheduled backup waits in the queue, the cluster's agent is not healthy, and API
// requests are timed by route pattern, not by path.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default", Tick: 200 * time.Millisecond, Now: now,
			Ready: func(addr string) { ready <- addr }})
	}()
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
	}
	token, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New("http://"+addr, strings.TrimSpace(string(token)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(t.Context(), policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: policy.Duration(24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterCluster(t.Context(), vaultv1.ClusterRegistration{Name: "east"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInstance(t.Context(), vaultv1.InstanceSpec{Name: "shop", Cluster: "east", Policy: "hourly",
		Storage: vaultv1.StorageLocation{URL: "file:///b/shop", PassphraseSecret: "pass"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop", "nope"} {
		_, _ = c.GetInstance(t.Context(), name)
	}
	offset.Store(int64(3 * time.Hour))

	var text string
	deadline := time.Now().Add(10 * time.Second)
	for text = scrape(t, "http://"+addr+"/metrics"); !strings.Contains(text, `kind="backup",state="queued"`) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond) // the scheduler's next tick queues the backup due at the moved clock
		text = scrape(t, "http://"+addr+"/metrics")
	}
	for _, want := range []string{
		`cairn_vault_instance_rpo_seconds{cluster="east",instance_name="shop",vault="default"} 7200`,
		`cairn_vault_http_request_duration_seconds_count{code="404",method="GET",route="GET /api/v1/instances/{name}"} 1`,
		`cairn_vault_cluster_healthy{cluster="east",vault="default"} 0`,
		`cairn_vault_jobs{kind="backup",state="queued",vault="default"}`,
		`cairn_vault_scheduler_ticks_total{result="ok"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "/api/v1/instances/nope") {
		t.Error("a path with a name in it became a label")
	}

	prom := promtest.Start(t, addr)
	prom.Wait(t, `up`, time.Minute, func(v float64) bool { return v == 1 })
	prom.Wait(t, `cairn_vault_instance_rpo_breached{instance_name="shop"}`, time.Minute, func(v float64) bool { return v == 1 })
	prom.Wait(t, `cairn_vault_queue_oldest_age_seconds{kind="backup"}`, time.Minute, func(v float64) bool { return v > 0 })
	prom.Wait(t, `sum(cairn_vault_http_request_duration_seconds_count{route="GET /metrics"})`, time.Minute, func(v float64) bool { return v >= 1 })
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
