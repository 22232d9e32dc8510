package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/policy"
)

func fixedClock() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }

func daily(name string) policy.Policy {
	week, _ := policy.ParseDuration("7d")
	return policy.Policy{Name: name, Schedule: policy.Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"},
		Retention: policy.Retention{Default: week, KeepLast: 3}}
}

func TestPoliciesRoundTripAndSurviveReopen(t *testing.T) {
	eachBackendReopen(t, testPoliciesRoundTripAndSurviveReopen)
}

func testPoliciesRoundTripAndSurviveReopen(t *testing.T, open func() *Store) {
	ctx := t.Context()
	s := open()
	if err := s.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"nightly", "hourly"} {
		if err := s.CreatePolicy(ctx, "prod", daily(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreatePolicy(ctx, "prod", daily("nightly")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	bad := daily("broken")
	bad.Schedule.EveryHours = 3
	if err := s.CreatePolicy(ctx, "prod", bad); err == nil || !strings.Contains(err.Error(), "schedule") {
		t.Fatalf("invalid policy: %v", err)
	}
	if err := s.CreatePolicy(ctx, "no-such-vault", daily("x")); err == nil {
		t.Fatal("a policy of an unknown vault was stored")
	}
	s.Close()

	s = open()
	list, err := s.ListPolicies(ctx, "prod")
	if err != nil || len(list) != 2 || list[0].Name != "hourly" || list[1].Name != "nightly" {
		t.Fatalf("list: %v %+v", err, list)
	}
	got, err := s.GetPolicy(ctx, "prod", "nightly")
	if err != nil || got.Schedule.DailyAt != "02:30" || got.Retention.KeepLast != 3 || got.Retention.Default.String() != "1w" {
		t.Fatalf("get: %v %+v", err, got)
	}
	if _, err := s.GetPolicy(ctx, "prod", "broken"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the invalid policy was half-written: %v", err)
	}
	if err := s.DeletePolicy(ctx, "prod", "hourly"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "prod", "hourly"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	var applied int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != migrationCount(t) {
		t.Fatalf("migrations recorded %d times (%v)", applied, err)
	}
}
