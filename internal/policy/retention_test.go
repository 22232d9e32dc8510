package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// akslike is the retention used by the history tests: default 7d, daily 30d, weekly 12w, monthly 12 months, yearly 5y, keepLast 3.
var akslike = Retention{
	Default: Duration(7 * day), Daily: Duration(30 * day), Weekly: Duration(12 * week),
	Monthly: Duration(year), Yearly: Duration(5 * year), KeepLast: 3,
}

// history returns successful points every 4 hours for days days from start.
func history(start time.Time, days int) []Point {
	var points []Point
	for t := start; t.Before(start.Add(time.Duration(days) * day)); t = t.Add(4 * time.Hour) {
		points = append(points, Point{ID: t.Format(time.RFC3339), CompletedAt: t, Successful: true})
	}
	return points
}

func TestEvaluate400DayHistory(t *testing.T) {
	// 2025-01-01 (a Wednesday) 00:00 to 2026-02-04 20:00 UTC: 400 days, 2400 points.
	points := history(mustTime(t, "2025-01-01T00:00:00Z"), 400)
	now := mustTime(t, "2026-02-04T21:00:00Z")
	decisions := akslike.Evaluate(points, now, time.UTC)

	counts := map[string]int{}
	for i, d := range decisions {
		if d.ID != points[i].ID {
			t.Fatalf("decision %d is for %s, want %s", i, d.ID, points[i].ID)
		}
		if d.Delete != strings.HasPrefix(d.Reason, "expired: ") {
			t.Fatalf("%s: Delete %v with reason %q", d.ID, d.Delete, d.Reason)
		}
		kind, _, _ := strings.Cut(d.Reason, " 2") // drop the period and the rule
		counts[kind]++
	}
	// Worked out by hand. Points are first of their day at 00:00; weeks start on Mondays except the
	// first (2025-01-01); 2025-09-01 and 2025-12-01 are Mondays and first of their month.
	want := map[string]int{
		"kept: first successful backup of year":  2,  // 2025-01-01, 2026-01-01
		"kept: first successful backup of month": 11, // 2025-03-01..2025-12-01, 2026-02-01
		"kept: first successful backup of week":  11, // Mondays 2025-11-17..2026-02-02 except 2025-12-01
		"kept: first successful backup of day":   25, // 2026-01-06..2026-02-04 except 4 Mondays and 2026-02-01
		"kept: default 1w":                       35, // 04:00-20:00 on 2026-01-29..2026-02-04

		"expired: first successful backup of month": 1,       // 2025-02-01 is older than a year
		"expired: first successful backup of week":  45 - 1,  // Mondays 2025-01-06..2025-11-10 except 2025-09-01
		"expired: first successful backup of day":   306,     // 370 days to 2026-01-05 less 2 years, 11 months, 51 Mondays
		"expired: default 1w":                       393 * 5, // 04:00-20:00 on 2025-01-01..2026-01-28
	}
	if len(counts) != len(want) {
		t.Errorf("reasons %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%q: %d, want %d", k, counts[k], v)
		}
	}

	byID := map[string]Decision{}
	for _, d := range decisions {
		byID[d.ID] = d
	}
	for id, wantReason := range map[string]string{
		"2026-01-26T00:00:00Z": "kept: first successful backup of week 2026-W05 (weekly 12w)",
		"2025-12-29T00:00:00Z": "kept: first successful backup of week 2026-W01 (weekly 12w)",
		"2026-02-01T00:00:00Z": "kept: first successful backup of month 2026-02 (monthly 1y)",
		"2025-01-01T00:00:00Z": "kept: first successful backup of year 2025 (yearly 5y)",
		"2026-01-10T00:00:00Z": "kept: first successful backup of day 2026-01-10 (daily 30d)",
		"2026-02-04T20:00:00Z": "kept: default 1w",
		"2026-01-28T20:00:00Z": "expired: default 1w",
		"2025-02-01T00:00:00Z": "expired: first successful backup of month 2025-02 (monthly 1y)",
	} {
		if got := byID[id].Reason; got != wantReason {
			t.Errorf("%s: %q, want %q", id, got, wantReason)
		}
	}
	if got, want := byID["2026-01-26T00:00:00Z"].ExpiresAt, mustTime(t, "2026-01-26T00:00:00Z").Add(12*week); !got.Equal(want) {
		t.Errorf("weekly expiry %s, want %s", got, want)
	}
}

func TestEvaluateNonUTCBoundaries(t *testing.T) {
	daily := Retention{Default: Duration(time.Hour), Daily: Duration(30 * day)}
	weekly := Retention{Default: Duration(time.Hour), Weekly: Duration(60 * day)}
	monthly := Retention{Default: Duration(time.Hour), Monthly: Duration(90 * day)}
	yearly := Retention{Default: Duration(time.Hour), Yearly: Duration(5 * year)}
	for _, tc := range []struct {
		name      string
		retention Retention
		zone      string
		points    []string
		kept      map[string]string // point -> reason; all others expire by default
	}{
		{"day in New York", daily, "America/New_York",
			[]string{"2026-06-14T12:00:00Z", "2026-06-15T03:30:00Z", "2026-06-15T04:30:00Z"},
			map[string]string{
				"2026-06-14T12:00:00Z": "first successful backup of day 2026-06-14 (daily 30d)",
				"2026-06-15T04:30:00Z": "first successful backup of day 2026-06-15 (daily 30d)", // 00:30 EDT
			}},
		{"same points in UTC", daily, "UTC",
			[]string{"2026-06-14T12:00:00Z", "2026-06-15T03:30:00Z", "2026-06-15T04:30:00Z"},
			map[string]string{
				"2026-06-14T12:00:00Z": "first successful backup of day 2026-06-14 (daily 30d)",
				"2026-06-15T03:30:00Z": "first successful backup of day 2026-06-15 (daily 30d)",
			}},
		// Monday 2026-06-15 00:00 CEST is 2026-06-14 22:00 UTC.
		{"week in Berlin", weekly, "Europe/Berlin",
			[]string{"2026-06-14T21:30:00Z", "2026-06-14T22:30:00Z"},
			map[string]string{
				"2026-06-14T21:30:00Z": "first successful backup of week 2026-W24 (weekly 60d)",
				"2026-06-14T22:30:00Z": "first successful backup of week 2026-W25 (weekly 60d)",
			}},
		{"week in UTC", weekly, "UTC",
			[]string{"2026-06-14T21:30:00Z", "2026-06-14T22:30:00Z"},
			map[string]string{"2026-06-14T21:30:00Z": "first successful backup of week 2026-W24 (weekly 60d)"}},
		// 2026-07-01 00:00 JST is 2026-06-30 15:00 UTC.
		{"month in Tokyo", monthly, "Asia/Tokyo",
			[]string{"2026-06-30T14:00:00Z", "2026-06-30T16:00:00Z"},
			map[string]string{
				"2026-06-30T14:00:00Z": "first successful backup of month 2026-06 (monthly 90d)",
				"2026-06-30T16:00:00Z": "first successful backup of month 2026-07 (monthly 90d)",
			}},
		// 2026-01-01 00:00 in Los Angeles is 08:00 UTC.
		{"year in Los Angeles", yearly, "America/Los_Angeles",
			[]string{"2026-01-01T07:00:00Z", "2026-01-01T09:00:00Z"},
			map[string]string{
				"2026-01-01T07:00:00Z": "first successful backup of year 2025 (yearly 5y)",
				"2026-01-01T09:00:00Z": "first successful backup of year 2026 (yearly 5y)",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var points []Point
			for _, s := range tc.points {
				points = append(points, Point{ID: s, CompletedAt: mustTime(t, s), Successful: true})
			}
			now := mustTime(t, "2026-07-10T00:00:00Z")
			for _, d := range tc.retention.Evaluate(points, now, mustZone(t, tc.zone)) {
				want, kept := tc.kept[d.ID]
				if kept && d.Reason != "kept: "+want || !kept && d.Reason != "expired: default 1h" {
					t.Errorf("%s: %q (delete %v), want kept %v %q", d.ID, d.Reason, d.Delete, kept, want)
				}
			}
		})
	}
}

func TestEvaluateFailedPointsAreNotFirstOfPeriod(t *testing.T) {
	r := Retention{Default: Duration(7 * day), Daily: Duration(30 * day)}
	points := []Point{
		{ID: "failed", CompletedAt: mustTime(t, "2026-03-01T00:00:00Z")},
		{ID: "ok", CompletedAt: mustTime(t, "2026-03-01T04:00:00Z"), Successful: true},
		{ID: "later", CompletedAt: mustTime(t, "2026-03-01T08:00:00Z"), Successful: true},
	}
	got := r.Evaluate(points, mustTime(t, "2026-03-10T00:00:00Z"), time.UTC)
	want := []Decision{
		{ID: "failed", ExpiresAt: mustTime(t, "2026-03-08T00:00:00Z"), Delete: true, Reason: "expired: default 1w"},
		{ID: "ok", ExpiresAt: mustTime(t, "2026-03-31T04:00:00Z"), Reason: "kept: first successful backup of day 2026-03-01 (daily 30d)"},
		{ID: "later", ExpiresAt: mustTime(t, "2026-03-08T08:00:00Z"), Delete: true, Reason: "expired: default 1w"},
	}
	assertDecisions(t, got, want)
}

func TestEvaluateKeepLast(t *testing.T) {
	r := Retention{Default: Duration(7 * day), Daily: Duration(30 * day), KeepLast: 3}
	start := mustTime(t, "2026-01-01T00:00:00Z")
	var points []Point
	for i := range 5 {
		points = append(points, Point{ID: fmt.Sprint("ok", i), CompletedAt: start.Add(time.Duration(i) * 4 * time.Hour), Successful: true})
	}
	// Newer than every successful point, but neither counts for KeepLast.
	points = append(points,
		Point{ID: "failed", CompletedAt: start.Add(30 * time.Hour)},
		Point{ID: "on-demand", CompletedAt: start.Add(31 * time.Hour), Successful: true, OnDemand: true, ExpiresAt: start.Add(40 * time.Hour)})
	got := r.Evaluate(points, start.Add(365*day), time.UTC)
	want := []Decision{
		{ID: "ok0", ExpiresAt: start.Add(30 * day), Delete: true, Reason: "expired: first successful backup of day 2026-01-01 (daily 30d)"},
		{ID: "ok1", ExpiresAt: start.Add(4*time.Hour + 7*day), Delete: true, Reason: "expired: default 1w"},
		{ID: "ok2", Reason: "kept: one of the last 3 successful"},
		{ID: "ok3", Reason: "kept: one of the last 3 successful"},
		{ID: "ok4", Reason: "kept: one of the last 3 successful"},
		{ID: "failed", ExpiresAt: start.Add(30*time.Hour + 7*day), Delete: true, Reason: "expired: default 1w"},
		{ID: "on-demand", ExpiresAt: start.Add(40 * time.Hour), Delete: true, Reason: "expired: on-demand, expired 2026-01-02T16:00:00Z"},
	}
	assertDecisions(t, got, want)

	// Points still within retention keep their expiry and reason even when among the last 3.
	got = r.Evaluate(points[:5], start.Add(time.Hour), time.UTC)
	if got[4].Reason != "kept: default 1w" || got[4].ExpiresAt.IsZero() {
		t.Errorf("fresh point: %+v", got[4])
	}
	// Fewer successful points than KeepLast.
	r.KeepLast = 10
	for _, d := range r.Evaluate(points[:5], start.Add(365*day), time.UTC) {
		if d.Delete {
			t.Errorf("deleted %+v", d)
		}
	}
}

func TestEvaluateOnDemand(t *testing.T) {
	r := Retention{Default: Duration(7 * day), Daily: Duration(30 * day), KeepLast: 1}
	now := mustTime(t, "2026-03-10T00:00:00Z")
	points := []Point{
		{ID: "od-expired", CompletedAt: mustTime(t, "2026-03-01T00:00:00Z"), Successful: true, OnDemand: true, ExpiresAt: mustTime(t, "2026-03-09T00:00:00Z")},
		{ID: "od-now", CompletedAt: mustTime(t, "2026-03-01T01:00:00Z"), Successful: true, OnDemand: true, ExpiresAt: now},
		{ID: "od-future", CompletedAt: mustTime(t, "2026-01-01T00:00:00Z"), Successful: true, OnDemand: true, ExpiresAt: mustTime(t, "2026-04-01T00:00:00Z")},
		{ID: "od-forever", CompletedAt: mustTime(t, "2020-01-01T00:00:00Z"), OnDemand: true},
		{ID: "scheduled", CompletedAt: mustTime(t, "2026-03-01T04:00:00Z"), Successful: true},
	}
	want := []Decision{
		{ID: "od-expired", ExpiresAt: mustTime(t, "2026-03-09T00:00:00Z"), Delete: true, Reason: "expired: on-demand, expired 2026-03-09T00:00:00Z"},
		{ID: "od-now", ExpiresAt: now, Delete: true, Reason: "expired: on-demand, expired 2026-03-10T00:00:00Z"},
		{ID: "od-future", ExpiresAt: mustTime(t, "2026-04-01T00:00:00Z"), Reason: "kept: on-demand until 2026-04-01T00:00:00Z"},
		{ID: "od-forever", Reason: "kept: on-demand, no expiry"},
		// First of its day although an on-demand point completed earlier that day.
		{ID: "scheduled", ExpiresAt: mustTime(t, "2026-03-31T04:00:00Z"), Reason: "kept: first successful backup of day 2026-03-01 (daily 30d)"},
	}
	assertDecisions(t, r.Evaluate(points, now, time.UTC), want)
}

func TestEvaluateInputOrderDoesNotMatter(t *testing.T) {
	loc := mustZone(t, "Europe/Berlin")
	points := history(mustTime(t, "2025-12-01T00:00:00Z"), 60)
	points[7].Successful = false
	points[20].OnDemand = true
	now := mustTime(t, "2026-01-30T00:00:00Z")
	want := map[string]Decision{}
	for _, d := range akslike.Evaluate(points, now, loc) {
		want[d.ID] = d
	}
	shuffled := append([]Point(nil), points...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i, d := range akslike.Evaluate(shuffled, now, loc) {
		if d.ID != shuffled[i].ID || d != want[d.ID] {
			t.Fatalf("decision %d: %+v, want %+v", i, d, want[d.ID])
		}
	}
}

func TestEvaluateNilLocationIsUTC(t *testing.T) {
	points := []Point{{ID: "a", CompletedAt: mustTime(t, "2026-03-01T23:30:00Z"), Successful: true}}
	r := Retention{Default: Duration(time.Hour), Daily: Duration(30 * day)}
	if got := r.Evaluate(points, mustTime(t, "2026-03-05T00:00:00Z"), nil)[0].Reason; !strings.Contains(got, "day 2026-03-01") {
		t.Fatal(got)
	}
}

func assertDecisions(t *testing.T, got, want []Decision) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d decisions, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.ExpiresAt.Equal(w.ExpiresAt) || g.Delete != w.Delete || g.Reason != w.Reason {
			t.Errorf("decision %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
