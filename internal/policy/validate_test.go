package policy

import (
	"strings"
	"testing"
	"time"
)

func validPolicy() Policy {
	return Policy{
		Name:      "nightly-prod",
		Schedule:  Schedule{EveryHours: 4, TimeZone: "Europe/Berlin"},
		Retention: Retention{Default: Duration(10 * day), Daily: Duration(30 * day), Weekly: Duration(12 * week), KeepLast: 3},
	}
}

func TestValidateAcceptsValidPolicies(t *testing.T) {
	for _, s := range []Schedule{
		{EveryHours: 1}, {EveryHours: 2}, {EveryHours: 4}, {EveryHours: 6}, {EveryHours: 8}, {EveryHours: 12},
		{DailyAt: "00:00"}, {DailyAt: "23:59", TimeZone: "America/New_York"},
		{Cron: "30 2 * * *"}, {Cron: "@daily", TimeZone: "Asia/Tokyo"}, {Cron: "0 9 * * 1-5"},
	} {
		p := validPolicy()
		p.Schedule = s
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	p := validPolicy()
	p.Name = strings.Repeat("a", 63)
	p.Retention = Retention{Default: Duration(4 * time.Hour), Daily: Duration(4 * time.Hour)} // equal to the interval and to default is fine
	if err := p.Validate(); err != nil {
		t.Errorf("boundary values: %v", err)
	}
}

func TestValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Policy)
		want   string
	}{
		{"everyHours not an AKS choice", func(p *Policy) { p.Schedule = Schedule{EveryHours: 3} },
			"schedule.everyHours 3: use 1, 2, 4, 6, 8 or 12"},
		{"everyHours negative", func(p *Policy) { p.Schedule = Schedule{EveryHours: -4} },
			"schedule.everyHours -4: use 1, 2, 4, 6, 8 or 12"},
		{"no schedule", func(p *Policy) { p.Schedule = Schedule{TimeZone: "UTC"} },
			"schedule: set exactly one of everyHours, dailyAt, cron"},
		{"two schedules", func(p *Policy) { p.Schedule = Schedule{EveryHours: 4, DailyAt: "02:00"} },
			"schedule: set exactly one of everyHours, dailyAt, cron"},
		{"dailyAt hour", func(p *Policy) { p.Schedule = Schedule{DailyAt: "25:00"} },
			`schedule.dailyAt "25:00": use HH:MM (00:00-23:59)`},
		{"dailyAt minute", func(p *Policy) { p.Schedule = Schedule{DailyAt: "12:60"} },
			`schedule.dailyAt "12:60": use HH:MM (00:00-23:59)`},
		{"dailyAt short", func(p *Policy) { p.Schedule = Schedule{DailyAt: "2:30"} },
			`schedule.dailyAt "2:30": use HH:MM (00:00-23:59)`},
		{"cron fields", func(p *Policy) { p.Schedule = Schedule{Cron: "* * *"} },
			`schedule.cron "* * *": expected exactly 5 fields, found 3: [* * *]; use 5 fields like "30 2 * * *"`},
		{"cron range", func(p *Policy) { p.Schedule = Schedule{Cron: "61 * * * *"} },
			`schedule.cron "61 * * * *": `},
		{"cron @every", func(p *Policy) { p.Schedule = Schedule{Cron: "@every 1h"} },
			`schedule.cron "@every 1h": @every and TZ= are not supported`},
		{"cron TZ", func(p *Policy) { p.Schedule = Schedule{Cron: "CRON_TZ=Europe/Berlin 0 2 * * *"} },
			`schedule.cron "CRON_TZ=Europe/Berlin 0 2 * * *": @every and TZ= are not supported`},
		{"cron never", func(p *Policy) { p.Schedule = Schedule{Cron: "0 0 30 2 *"} },
			`schedule.cron "0 0 30 2 *": never runs`},
		{"time zone", func(p *Policy) { p.Schedule.TimeZone = "Mars/Base" },
			`schedule.timeZone "Mars/Base": unknown time zone`},
		{"time zone Local", func(p *Policy) { p.Schedule.TimeZone = "Local" },
			`schedule.timeZone "Local": unknown time zone`},
		{"default missing", func(p *Policy) { p.Retention.Default = 0 },
			`retention.default: required (e.g. "7d")`},
		{"default negative", func(p *Policy) { p.Retention.Default = Duration(-day) },
			"retention.default -1d: must be positive"},
		{"daily negative", func(p *Policy) { p.Retention.Daily = Duration(-day) },
			"retention.daily -1d: must not be negative"},
		{"weekly negative", func(p *Policy) { p.Retention.Weekly = Duration(-3 * day) },
			"retention.weekly -3d: must not be negative"},
		{"monthly negative", func(p *Policy) { p.Retention.Monthly = Duration(-time.Hour) },
			"retention.monthly -1h: must not be negative"},
		{"yearly negative", func(p *Policy) { p.Retention.Yearly = Duration(-year) },
			"retention.yearly -1y: must not be negative"},
		{"keepLast negative", func(p *Policy) { p.Retention.KeepLast = -1 },
			"retention.keepLast -1: must be 0 or more"},
		{"name empty", func(p *Policy) { p.Name = "" }, "name: required"},
		{"name upper case", func(p *Policy) { p.Name = "Nightly" }, `name "Nightly": must be a DNS label`},
		{"name underscore", func(p *Policy) { p.Name = "a_b" }, `name "a_b": must be a DNS label`},
		{"name leading dash", func(p *Policy) { p.Name = "-a" }, `name "-a": must be a DNS label`},
		{"name trailing dash", func(p *Policy) { p.Name = "a-" }, `name "a-": must be a DNS label`},
		{"name too long", func(p *Policy) { p.Name = strings.Repeat("a", 64) }, `must be a DNS label (1-63 characters`},
		{"default shorter than everyHours", func(p *Policy) { p.Retention = Retention{Default: Duration(time.Hour)} },
			"retention.default 1h is shorter than the schedule's interval 4h: every recovery point would expire before the next backup"},
		{"default shorter than dailyAt", func(p *Policy) {
			p.Schedule = Schedule{DailyAt: "02:00"}
			p.Retention = Retention{Default: Duration(12 * time.Hour)}
		}, "retention.default 12h is shorter than the schedule's interval 1d: every recovery point would expire"},
		{"default shorter than cron", func(p *Policy) {
			p.Schedule = Schedule{Cron: "0 9 * * 1-5"}
			p.Retention = Retention{Default: Duration(20 * time.Hour)}
		}, "retention.default 20h is shorter than the schedule's interval 1d"},
		{"weekly shorter than default", func(p *Policy) {
			p.Retention = Retention{Default: Duration(10 * day), Weekly: Duration(3 * day)}
		}, "retention.weekly 3d is shorter than retention.default 10d"},
		// Marshal's shortest-form rule prints 7d as 1w (see TestParseDuration).
		{"weekly shorter than default 7d", func(p *Policy) {
			p.Retention = Retention{Default: Duration(7 * day), Weekly: Duration(3 * day)}
		}, "retention.weekly 3d is shorter than retention.default 1w"},
		{"daily shorter than default", func(p *Policy) {
			p.Retention = Retention{Default: Duration(10 * day), Daily: Duration(2 * day)}
		}, "retention.daily 2d is shorter than retention.default 10d"},
		{"monthly shorter than default", func(p *Policy) {
			p.Retention = Retention{Default: Duration(10 * day), Monthly: Duration(9 * day)}
		}, "retention.monthly 9d is shorter than retention.default 10d"},
		{"yearly shorter than default", func(p *Policy) {
			p.Retention = Retention{Default: Duration(10 * day), Yearly: Duration(5 * day)}
		}, "retention.yearly 5d is shorter than retention.default 10d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPolicy()
			tc.modify(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	p := Policy{
		Name:      "Bad_Name",
		Schedule:  Schedule{EveryHours: 3, DailyAt: "25:00", TimeZone: "Mars/Base"},
		Retention: Retention{Weekly: Duration(-day), KeepLast: -2},
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{
		`name "Bad_Name"`, "schedule.everyHours 3", `schedule.dailyAt "25:00"`, `schedule.timeZone "Mars/Base"`,
		"schedule: set exactly one", "retention.default: required", "retention.weekly -1d", "retention.keepLast -2",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 8 {
		t.Errorf("got %d joined errors, want 8:\n%v", n, err)
	}
}
