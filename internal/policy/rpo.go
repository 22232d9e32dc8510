package policy

import (
	"errors"
	"fmt"
	"time"
)

// States of an instance's recovery point objective (docs/design/monitoring.md).
const (
	RPOMet      = "met"
	RPOBreached = "breached"
	RPOPending  = "pending"
	RPOPaused   = "paused"
)

// RPOStates lists the states, for filters and documentation.
var RPOStates = []string{RPOMet, RPOBreached, RPOPending, RPOPaused}

// rpoGrace is what the default objective adds to the schedule's longest gap: a run that made no
// good recovery point is flagged an hour after the next one was due.
const rpoGrace = time.Hour

// gapHorizon is how far ahead LongestGap looks, and gapMaxRuns the most runs it walks.
const (
	gapHorizon = 366 * 24 * time.Hour
	gapMaxRuns = 100_000
)

// LongestGap returns the longest time between two consecutive runs of the schedule in the year
// after from (a cron that skips weekends has a gap of its weekend; a daily run across a clock
// change one of 25 hours).
func (s Schedule) LongestGap(from time.Time) (time.Duration, error) {
	p, errs := s.compile()
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	var longest time.Duration
	end := from.Add(gapHorizon)
	prev := p.next(from)
	for n := 0; !prev.IsZero() && prev.Before(end) && n < gapMaxRuns; n++ {
		next := p.next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	if longest == 0 {
		return 0, fmt.Errorf("schedule: fewer than two runs in the year after %s", from.UTC().Format(time.RFC3339))
	}
	return longest, nil
}

// Objective returns the policy's recovery point objective: rpo when set (an instance's
// override), else the policy's, else the schedule's longest gap after now plus an hour.
func (p Policy) Objective(rpo Duration, now time.Time) (time.Duration, error) {
	return NewStandings(now).objective(p, rpo)
}

// Standing places an instance on this policy against its objective at now: override is the
// instance's own objective (zero: none), lastGood its newest good recovery point's time (nil:
// none), created when it was created, stopped whether it is.
func (p Policy) Standing(override Duration, lastGood *time.Time, created time.Time, stopped bool, now time.Time) (RPOStatus, error) {
	return NewStandings(now).Of(p, override, lastGood, created, stopped)
}

// Standings places many instances against their objectives at one time, walking each schedule's
// year of runs (LongestGap: 8,760 for an hourly one) once however many instances share it.
type Standings struct {
	now  time.Time
	gaps map[Schedule]longestGap
}

type longestGap struct {
	gap time.Duration
	err error
}

// NewStandings returns Standings at now.
func NewStandings(now time.Time) *Standings {
	return &Standings{now: now, gaps: map[Schedule]longestGap{}}
}

// Of is Policy.Standing at the Standings' time.
func (s *Standings) Of(p Policy, override Duration, lastGood *time.Time, created time.Time, stopped bool) (RPOStatus, error) {
	objective, err := s.objective(p, override)
	if err != nil {
		return RPOStatus{}, err
	}
	return EvaluateRPO(objective, lastGood, created, stopped, s.now), nil
}

// objective is Policy.Objective at the Standings' time.
func (s *Standings) objective(p Policy, rpo Duration) (time.Duration, error) {
	switch {
	case rpo > 0:
		return time.Duration(rpo), nil
	case p.RPO > 0:
		return time.Duration(p.RPO), nil
	}
	g, ok := s.gaps[p.Schedule]
	if !ok {
		g.gap, g.err = p.Schedule.LongestGap(s.now)
		s.gaps[p.Schedule] = g
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.gap + rpoGrace, nil
}

// RPOStatus is where an instance stands against its objective.
type RPOStatus struct {
	Objective time.Duration
	State     string
	// LastGood is the time of the newest good recovery point (nil: none).
	LastGood *time.Time
	// BreachedSince is when the state became (or becomes) breached: LastGood, or the start of
	// protection when there is none, plus the objective. Zero when paused.
	BreachedSince time.Time
}

// EvaluateRPO places an instance against its objective at now: lastGood is its newest good
// recovery point's time (nil: none), since when it is protected, stopped whether it is not.
func EvaluateRPO(objective time.Duration, lastGood *time.Time, since time.Time, stopped bool, now time.Time) RPOStatus {
	st := RPOStatus{Objective: objective, LastGood: lastGood}
	if stopped {
		st.State = RPOPaused
		return st
	}
	from := since
	if lastGood != nil {
		from = *lastGood
	}
	st.BreachedSince = from.Add(objective)
	switch {
	case now.Before(st.BreachedSince) && lastGood == nil:
		st.State = RPOPending
	case now.Before(st.BreachedSince):
		st.State = RPOMet
	default:
		st.State = RPOBreached
	}
	return st
}

// validateRPO checks an objective under field against the schedule's interval (0: unknown).
func validateRPO(field string, rpo Duration, interval time.Duration) error {
	switch {
	case rpo < 0:
		return fmt.Errorf("%s %s: must be positive", field, rpo)
	case rpo > 0 && interval > 0 && time.Duration(rpo) < interval:
		return fmt.Errorf("%s %s is shorter than the schedule's interval %s: it would be breached between every two backups",
			field, rpo, Duration(interval))
	}
	return nil
}

// ValidateRPO checks an instance's override of the policy's objective.
func (p Policy) ValidateRPO(rpo Duration) error {
	interval, err := p.Schedule.Interval()
	if err != nil {
		interval = 0
	}
	return validateRPO("rpo", rpo, interval)
}
