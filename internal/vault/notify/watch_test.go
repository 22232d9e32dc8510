package notify_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWatchRecordsEachBreachAndSilenceOnce: an hourly instance without backups breaches its 2 h
// objective once however many ticks see it; a silent agent is unhealthy once per silence.
func TestWatchRecordsEachBreachAndSilenceOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	week, _ := policy.ParseDuration("7d")
	if err := f.st.CreatePolicy(ctx, "prod", policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: week}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.RegisterCluster(ctx, "prod", "east"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.CreateInstance(ctx, "prod", store.InstanceSpec{Name: "shop", Cluster: "east", Policy: "hourly",
		Backup: mustJSON(t, vaultv1.BackupConfig{}), Storage: mustJSON(t, vaultv1.StorageLocation{URL: "file:///b/shop", PassphraseSecret: "pass"})}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Heartbeat(ctx, "prod", "east", store.Heartbeat{AgentVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f.rule(t, store.NotificationRule{Name: "ops", Events: []events.Type{events.RPOBreached, events.AgentUnhealthy},
		Channel: store.Channel{Type: notify.Webhook, URL: srv.URL}, CreatedAt: f.clk.now(), CreatedBy: "admin"})
	for i := 0; i < 4; i++ {
		f.clk.advance(45 * time.Minute)
		f.tick(t)
	}
	got := f.deliveries(t, "ops")
	if len(got) != 2 || rc.count() != 2 {
		t.Fatalf("deliveries %+v, %d requests, want one breach and one silent agent", got, rc.count())
	}
	breach, silent := got[0].Event, got[1].Event
	if breach.Type != events.RPOBreached || breach.Instance != "shop" || !strings.Contains(breach.Summary, "no good recovery point since it was protected") ||
		!breach.At.Equal(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("breach %+v", breach)
	}
	if silent.Type != events.AgentUnhealthy || silent.Cluster != "east" || !strings.Contains(silent.Summary, `the agent of cluster "east" has not reported since 2026-12-04T08:00:00Z`) {
		t.Errorf("silence %+v", silent)
	}
}
