package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when backups run: exactly one of EveryHours, DailyAt and Cron is set.
//
// Times are wall-clock times in TimeZone. A wall-clock time skipped by a daylight-saving jump
// (02:30 on the spring-forward day in Europe/Berlin) runs at the next valid instant, the moment the
// clocks jump (03:00); a time that occurs twice when clocks go back runs once. Cron expressions
// follow robfig/cron instead, which skips a time that does not exist that day.
type Schedule struct {
	EveryHours int    `json:"everyHours,omitempty"` // 1, 2, 4, 6, 8 or 12 (AKS's choices); runs at local midnight + k*N hours
	DailyAt    string `json:"dailyAt,omitempty"`    // "HH:MM", 24h
	Cron       string `json:"cron,omitempty"`       // standard 5-field cron; descriptors like @daily allowed
	TimeZone   string `json:"timeZone,omitempty"`   // IANA name, default "UTC"
}

// Plan is a schedule checked and compiled, ready to compute many run times: Schedule's methods
// compile it at every call (its time zone loaded, its cron expression parsed).
type Plan struct {
	expr     string // the cron expression, for errors
	loc      *time.Location
	slots    []int // minutes after local midnight, ascending; for EveryHours and DailyAt
	cron     cron.Schedule
	interval time.Duration
}

// compile checks the schedule and returns every problem found, each naming its field.
func (s Schedule) compile() (Plan, []error) {
	var errs []error
	p := Plan{expr: s.Cron, loc: time.UTC}
	if loc, err := s.Location(); err != nil {
		errs = append(errs, err)
	} else {
		p.loc = loc
	}
	kinds := 0
	if s.EveryHours != 0 {
		kinds++
		switch s.EveryHours {
		case 1, 2, 4, 6, 8, 12:
			for h := 0; h < 24; h += s.EveryHours {
				p.slots = append(p.slots, h*60)
			}
			p.interval = time.Duration(s.EveryHours) * time.Hour
		default:
			errs = append(errs, fmt.Errorf("schedule.everyHours %d: use 1, 2, 4, 6, 8 or 12", s.EveryHours))
		}
	}
	if s.DailyAt != "" {
		kinds++
		if m, ok := parseClock(s.DailyAt); ok {
			p.slots, p.interval = []int{m}, day
		} else {
			errs = append(errs, fmt.Errorf("schedule.dailyAt %q: use HH:MM (00:00-23:59)", s.DailyAt))
		}
	}
	if s.Cron != "" {
		kinds++
		sched, interval, err := parseCron(s.Cron)
		if err != nil {
			errs = append(errs, err)
		}
		p.cron, p.interval = sched, interval
	}
	if kinds != 1 {
		errs = append(errs, errors.New("schedule: set exactly one of everyHours, dailyAt, cron"))
	}
	return p, errs
}

// Location is the schedule's time zone (UTC when none is set); retention's day, week, month and
// year boundaries fall in it too.
func (s Schedule) Location() (*time.Location, error) {
	name := s.TimeZone
	// "Local" would make the schedule depend on the host the vault happens to run on.
	if name == "Local" {
		return nil, fmt.Errorf("schedule.timeZone %q: unknown time zone; use an IANA name like \"Europe/Berlin\"", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("schedule.timeZone %q: %w", name, err)
	}
	return loc, nil
}

// parseClock parses "HH:MM" into minutes after midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	return h*60 + m, h < 24 && m < 60
}

func parseCron(expr string) (cron.Schedule, time.Duration, error) {
	const hint = `use 5 fields like "30 2 * * *"`
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, 0, fmt.Errorf("schedule.cron %q: %w; %s", expr, err, hint)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok || spec.Location != time.Local {
		// @every runs relative to whenever it is asked, and TZ= would contradict schedule.timeZone.
		return nil, 0, fmt.Errorf("schedule.cron %q: @every and TZ= are not supported (use everyHours and timeZone); %s", expr, hint)
	}
	interval, err := cronInterval(spec)
	if err != nil {
		return nil, 0, fmt.Errorf("schedule.cron %q: %w", expr, err)
	}
	return spec, interval, nil
}

// cronInterval is the smallest gap between consecutive runs over 8 days from a fixed Monday,
// measured in UTC so that daylight-saving jumps do not distort it; if fewer than two runs fall in
// those days it is the gap between the first two.
func cronInterval(spec *cron.SpecSchedule) (time.Duration, error) {
	start := time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(8 * day)
	prev := spec.Next(start)
	var smallest time.Duration
	for !prev.IsZero() {
		next := spec.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); smallest == 0 || gap < smallest {
			smallest = gap
		}
		if next.After(end) || smallest == time.Minute {
			break
		}
		prev = next
	}
	if smallest == 0 {
		return 0, errors.New("never runs")
	}
	return smallest, nil
}

// next returns the first run strictly after t, or the zero time if there is none within five years.
func (p Plan) next(t time.Time) time.Time {
	if p.cron != nil {
		return p.cron.Next(t.In(p.loc)).UTC()
	}
	y, m, d := t.In(p.loc).Date()
	for i := 0; ; i++ {
		for _, minute := range p.slots {
			if at := wallClock(y, m, d+i, minute, p.loc); at.After(t) {
				return at.UTC()
			}
		}
	}
}

// wallClock returns the instant the clocks in loc show minute (after midnight) on the given day,
// or, if a daylight-saving jump skips that time, the instant of the jump.
func wallClock(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, minute/60, minute%60, 0, 0, loc)
	if t.Hour()*60+t.Minute() == minute {
		return t
	}
	// time.Date resolves a skipped time past the jump, so the zone now in effect began at the jump.
	start, _ := t.ZoneBounds()
	return start
}

// Plan checks the schedule and compiles it.
func (s Schedule) Plan() (Plan, error) {
	p, errs := s.compile()
	if len(errs) > 0 {
		return Plan{}, errors.Join(errs...)
	}
	return p, nil
}

// Next returns the first scheduled time strictly after t, in UTC.
func (s Schedule) Next(t time.Time) (time.Time, error) {
	p, err := s.Plan()
	if err != nil {
		return time.Time{}, err
	}
	return p.Next(t)
}

// Next returns the first scheduled time strictly after t, in UTC.
func (p Plan) Next(t time.Time) (time.Time, error) {
	next := p.next(t)
	if next.IsZero() {
		return time.Time{}, fmt.Errorf("schedule.cron %q: no run within five years after %s", p.expr, t.UTC().Format(time.RFC3339))
	}
	return next, nil
}

// Due returns the scheduled times in (from, to], oldest first. When more than max are due only the
// newest max are returned, so the last one is always the most recent due time.
func (s Schedule) Due(from, to time.Time, max int) ([]time.Time, error) {
	p, err := s.Plan()
	if err != nil {
		return nil, err
	}
	return p.Due(from, to, max)
}

// Due is Schedule.Due.
func (p Plan) Due(from, to time.Time, max int) ([]time.Time, error) {
	if max < 1 {
		return nil, fmt.Errorf("due: max %d: must be 1 or more", max)
	}
	// Look back from to over a window that doubles until it holds max runs or reaches from, so that
	// a long gap (from zero, say) does not mean walking through every run since.
	window := p.interval
	for {
		start, whole := from, true
		if window < to.Sub(from) && window < 1<<62 {
			start, whole = to.Add(-window), false
		}
		var due []time.Time
		for t := p.next(start); !t.IsZero() && !t.After(to); t = p.next(t) {
			if len(due) == max {
				due = due[1:]
			}
			due = append(due, t)
		}
		if whole || len(due) == max {
			return due, nil
		}
		window *= 2
	}
}

// Interval is the schedule's (smallest) interval: EveryHours, 24h for DailyAt, and for Cron the
// smallest gap between consecutive runs over 8 days.
func (s Schedule) Interval() (time.Duration, error) {
	p, errs := s.compile()
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	return p.interval, nil
}
