package policy

import (
	"strings"
	"testing"
	"time"
)

func TestLongestGap(t *testing.T) {
	from := time.Date(2026, 12, 4, 10, 17, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		s    Schedule
		want time.Duration
	}{
		{"hourly", Schedule{EveryHours: 1}, time.Hour},
		{"daily", Schedule{DailyAt: "02:00"}, 24 * time.Hour},
		{"daily across a clock change", Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}, 25 * time.Hour},
		{"weekdays", Schedule{Cron: "0 3 * * 1-5"}, 72 * time.Hour},
	} {
		got, err := c.s.LongestGap(from)
		if err != nil || got != c.want {
			t.Errorf("%s: LongestGap = %s, %v; want %s", c.name, got, err, c.want)
		}
	}
}

func TestObjective(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	p := Policy{Schedule: Schedule{EveryHours: 4}}
	if got, err := p.Objective(0, now); err != nil || got != 5*time.Hour {
		t.Errorf("default objective %s, %v; want the gap plus an hour, 5h", got, err)
	}
	p.RPO = Duration(12 * time.Hour)
	if got, _ := p.Objective(0, now); got != 12*time.Hour {
		t.Errorf("policy objective %s, want 12h", got)
	}
	if got, _ := p.Objective(Duration(6*time.Hour), now); got != 6*time.Hour {
		t.Errorf("instance override %s, want 6h", got)
	}
}

// TestStandingsShareTheGapOfASchedule: Standings places instances as Policy.Standing does, each
// schedule's gap computed once and kept apart from another schedule's.
func TestStandingsShareTheGapOfASchedule(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	created := now.Add(-48 * time.Hour)
	good := now.Add(-90 * time.Minute)
	hourly, daily := Policy{Schedule: Schedule{EveryHours: 1}}, Policy{Schedule: Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}}
	own := Policy{Schedule: Schedule{EveryHours: 1}, RPO: Duration(30 * time.Minute)}
	st := NewStandings(now)
	for _, c := range []struct {
		p        Policy
		override Duration
	}{{hourly, 0}, {daily, 0}, {hourly, 0}, {own, 0}, {hourly, Duration(3 * time.Hour)}, {daily, 0}} {
		want, err := c.p.Standing(c.override, &good, created, false, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Of(c.p, c.override, &good, created, false)
		if err != nil || got.Objective != want.Objective || got.State != want.State {
			t.Errorf("%+v override %s: %+v, %v; want %+v", c.p.Schedule, c.override, got, err, want)
		}
	}
	if len(st.gaps) != 2 {
		t.Errorf("%d gaps computed, want one per schedule (2)", len(st.gaps))
	}
}

func TestEvaluateRPO(t *testing.T) {
	created := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	good := created.Add(3 * time.Hour)
	for _, c := range []struct {
		name     string
		lastGood *time.Time
		stopped  bool
		now      time.Time
		want     string
		since    time.Time
	}{
		{"no point yet, young", nil, false, created.Add(time.Hour), RPOPending, created.Add(2 * time.Hour)},
		{"no point ever", nil, false, created.Add(2 * time.Hour), RPOBreached, created.Add(2 * time.Hour)},
		{"recent point", &good, false, good.Add(time.Hour), RPOMet, good.Add(2 * time.Hour)},
		{"old point", &good, false, good.Add(2*time.Hour + time.Second), RPOBreached, good.Add(2 * time.Hour)},
		{"stopped", &good, true, good.Add(48 * time.Hour), RPOPaused, time.Time{}},
	} {
		got := EvaluateRPO(2*time.Hour, c.lastGood, created, c.stopped, c.now)
		if got.State != c.want || !got.BreachedSince.Equal(c.since) || got.Objective != 2*time.Hour {
			t.Errorf("%s: %+v; want %s, breached since %s", c.name, got, c.want, c.since)
		}
	}
}

func TestRPOValidation(t *testing.T) {
	p := Policy{Name: "p", Schedule: Schedule{DailyAt: "01:00"}, Retention: Retention{Default: Duration(7 * 24 * time.Hour)}, RPO: Duration(time.Hour)}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "rpo 1h is shorter than the schedule's interval 1d") {
		t.Errorf("Validate: %v", err)
	}
	p.RPO = 0
	if err := p.Validate(); err != nil {
		t.Errorf("Validate without an objective: %v", err)
	}
	if err := p.ValidateRPO(Duration(-time.Hour)); err == nil {
		t.Error("a negative override accepted")
	}
	if err := p.ValidateRPO(Duration(26 * time.Hour)); err != nil {
		t.Errorf("override 26h: %v", err)
	}
}
