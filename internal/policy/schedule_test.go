package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		name     string
		schedule Schedule
		after    string
		want     []string // successive runs
	}{
		{"everyHours UTC", Schedule{EveryHours: 4}, "2026-05-10T10:00:00Z",
			[]string{"2026-05-10T12:00:00Z", "2026-05-10T16:00:00Z", "2026-05-10T20:00:00Z", "2026-05-11T00:00:00Z"}},
		{"everyHours strictly after", Schedule{EveryHours: 12}, "2026-05-10T12:00:00Z",
			[]string{"2026-05-11T00:00:00Z", "2026-05-11T12:00:00Z"}},
		// 23:30 CET -> local midnight, which is 23:00 UTC the same UTC day.
		{"everyHours across midnight Berlin", Schedule{EveryHours: 6, TimeZone: "Europe/Berlin"}, "2026-01-10T22:30:00Z",
			[]string{"2026-01-10T23:00:00Z", "2026-01-11T05:00:00Z", "2026-01-11T11:00:00Z", "2026-01-11T17:00:00Z", "2026-01-11T23:00:00Z"}},
		// Spring forward: 02:00 CET does not exist and becomes 03:00 CEST, the same instant as the 03:00 slot: one run.
		{"everyHours 1 spring forward Berlin", Schedule{EveryHours: 1, TimeZone: "Europe/Berlin"}, "2026-03-28T23:30:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		{"dailyAt UTC", Schedule{DailyAt: "02:30"}, "2026-05-10T02:30:00Z",
			[]string{"2026-05-11T02:30:00Z", "2026-05-12T02:30:00Z"}},
		{"dailyAt Tokyo", Schedule{DailyAt: "09:15", TimeZone: "Asia/Tokyo"}, "2026-05-10T00:00:00Z",
			[]string{"2026-05-10T00:15:00Z", "2026-05-11T00:15:00Z"}},
		// Spring forward on 2026-03-29: 02:30 CET does not exist; the run happens at the next valid instant,
		// 03:00 CEST (01:00 UTC), then back to 02:30 CEST (00:30 UTC).
		{"dailyAt spring forward Berlin", Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		// Fall back on 2026-10-25: 02:30 happens twice (00:30 and 01:30 UTC); the run happens once, at the second.
		{"dailyAt fall back Berlin", Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}, "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"dailyAt fall back Berlin between the two 02:30s", Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}, "2026-10-25T00:45:00Z",
			[]string{"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"cron every 6h", Schedule{Cron: "0 */6 * * *"}, "2026-05-10T07:00:00Z",
			[]string{"2026-05-10T12:00:00Z", "2026-05-10T18:00:00Z", "2026-05-11T00:00:00Z"}},
		// 2026-05-08 is a Friday.
		{"cron weekdays Berlin", Schedule{Cron: "0 9 * * 1-5", TimeZone: "Europe/Berlin"}, "2026-05-08T08:00:00Z",
			[]string{"2026-05-11T07:00:00Z", "2026-05-12T07:00:00Z"}},
		{"cron descriptor", Schedule{Cron: "@daily", TimeZone: "America/New_York"}, "2026-05-10T12:00:00Z",
			[]string{"2026-05-11T04:00:00Z", "2026-05-12T04:00:00Z"}},
		// robfig/cron skips a time that does not exist: no run on the spring-forward day.
		{"cron spring forward Berlin", Schedule{Cron: "30 2 * * *", TimeZone: "Europe/Berlin"}, "2026-03-28T12:00:00Z",
			[]string{"2026-03-30T00:30:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := mustTime(t, tc.after)
			for _, w := range tc.want {
				next, err := tc.schedule.Next(at)
				if err != nil {
					t.Fatal(err)
				}
				if want := mustTime(t, w); !next.Equal(want) || next.Location() != time.UTC {
					t.Fatalf("Next(%s) = %s, want %s", at, next, want)
				}
				at = next
			}
		})
	}
}

func TestNextAcceptsAnyInputZone(t *testing.T) {
	s := Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}
	at := mustTime(t, "2026-05-10T12:00:00Z")
	a, err := s.Next(at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Next(at.In(mustZone(t, "America/Los_Angeles")))
	if err != nil || a != b {
		t.Fatalf("%v vs %v (%v)", a, b, err)
	}
}

func TestNextInvalidSchedule(t *testing.T) {
	_, err := Schedule{EveryHours: 5}.Next(time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "schedule.everyHours 5") {
		t.Fatalf("got %v", err)
	}
	if _, err := (Schedule{EveryHours: 5}).Due(time.Unix(0, 0), time.Unix(1e6, 0), 1); err == nil {
		t.Fatal("Due accepted an invalid schedule")
	}
	if _, err := (Schedule{EveryHours: 5}).Interval(); err == nil {
		t.Fatal("Interval accepted an invalid schedule")
	}
}

func TestDueAfterDowntime(t *testing.T) {
	s := Schedule{EveryHours: 4}
	from := mustTime(t, "2026-05-10T10:00:00Z") // last check before the vault went down
	to := from.Add(30 * time.Hour)
	all := []string{
		"2026-05-10T12:00:00Z", "2026-05-10T16:00:00Z", "2026-05-10T20:00:00Z", "2026-05-11T00:00:00Z",
		"2026-05-11T04:00:00Z", "2026-05-11T08:00:00Z", "2026-05-11T12:00:00Z", "2026-05-11T16:00:00Z",
	}
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{100, all},
		{8, all},
		{3, all[5:]}, // the newest three: the last is still the most recent due time
		{1, all[7:]},
	} {
		got, err := s.Due(from, to, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(formatAll(got), tc.want) {
			t.Errorf("Due(max %d) = %v, want %v", tc.max, formatAll(got), tc.want)
		}
	}
	// to itself is included, from is not.
	got, err := s.Due(mustTime(t, "2026-05-10T12:00:00Z"), mustTime(t, "2026-05-10T16:00:00Z"), 10)
	if err != nil || !slices.Equal(formatAll(got), []string{"2026-05-10T16:00:00Z"}) {
		t.Errorf("(12:00, 16:00] = %v, %v", formatAll(got), err)
	}
	if got, err := s.Due(to, from, 10); err != nil || len(got) != 0 {
		t.Errorf("to before from: %v, %v", got, err)
	}
	if _, err := s.Due(from, to, 0); err == nil || !strings.Contains(err.Error(), "max 0: must be 1 or more") {
		t.Errorf("max 0: %v", err)
	}
}

func TestDueFromZeroTime(t *testing.T) {
	to := mustTime(t, "2026-05-11T16:30:00Z")
	for _, s := range []Schedule{{EveryHours: 1}, {Cron: "*/5 * * * *"}, {Cron: "0 0 1 1 *"}} {
		got, err := s.Due(time.Time{}, to, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !slices.IsSortedFunc(got, time.Time.Compare) {
			t.Fatalf("%+v: %v", s, got)
		}
		next, err := s.Next(got[2])
		if err != nil || !next.After(to) {
			t.Errorf("%+v: last due %s is not the most recent (next %s)", s, got[2], next)
		}
	}
}

func TestDueAcrossFallBack(t *testing.T) {
	s := Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"}
	got, err := s.Due(mustTime(t, "2026-10-24T12:00:00Z"), mustTime(t, "2026-10-25T12:00:00Z"), 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("runs on the fall-back day: %v, %v", got, err)
	}
}

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		schedule Schedule
		want     time.Duration
	}{
		{Schedule{EveryHours: 4}, 4 * time.Hour},
		{Schedule{EveryHours: 12, TimeZone: "Europe/Berlin"}, 12 * time.Hour},
		{Schedule{DailyAt: "02:30"}, 24 * time.Hour},
		{Schedule{Cron: "0 */6 * * *"}, 6 * time.Hour},
		{Schedule{Cron: "0 9 * * 1-5"}, 24 * time.Hour}, // not the weekend's 72h
		{Schedule{Cron: "0 2,3 * * *", TimeZone: "Europe/Berlin"}, time.Hour},
		{Schedule{Cron: "*/5 * * * *"}, 5 * time.Minute},
		{Schedule{Cron: "* * * * *"}, time.Minute},
		{Schedule{Cron: "@daily"}, 24 * time.Hour},
		{Schedule{Cron: "@weekly"}, 7 * 24 * time.Hour},
		{Schedule{Cron: "0 0 1 * *"}, 28 * 24 * time.Hour}, // fewer than two runs in 8 days: the first gap (February)
	} {
		got, err := tc.schedule.Interval()
		if err != nil || got != tc.want {
			t.Errorf("%+v: Interval() = %v, %v; want %v", tc.schedule, got, err, tc.want)
		}
	}
}

func formatAll(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339)
	}
	return out
}
