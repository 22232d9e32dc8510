package policy

import (
	"fmt"
	"slices"
	"time"
)

// Retention says how long recovery points are kept. Default keeps every recovery point for
// Default; the rules keep the first successful recovery point of each day, week (ISO, Monday
// start), month and year longer. The longest applicable duration wins. KeepLast guards the newest
// KeepLast successful recovery points from deletion whatever their age (0 = no guard).
type Retention struct {
	Default  Duration `json:"default"`
	Daily    Duration `json:"daily,omitempty"`
	Weekly   Duration `json:"weekly,omitempty"`
	Monthly  Duration `json:"monthly,omitempty"`
	Yearly   Duration `json:"yearly,omitempty"`
	KeepLast int      `json:"keepLast,omitempty"`
}

// Point is what retention looks at.
type Point struct {
	ID          string
	CompletedAt time.Time
	Successful  bool      // phase Completed (PartiallyFailed and Failed are not successful)
	OnDemand    bool      // on-demand backups carry their own expiry and are judged by it alone
	ExpiresAt   time.Time // for OnDemand: its own expiry (zero = never)
}

// Decision is retention's verdict on one point.
type Decision struct {
	ID        string
	ExpiresAt time.Time // zero means kept indefinitely (only by the KeepLast guard or an on-demand point without expiry)
	Delete    bool
	Reason    string // e.g. "kept: first successful backup of week 2026-W48 (weekly 4w)", "expired: default 7d"
}

// rule is one "first successful point of each period" retention rule.
type rule struct {
	name   string // as in the JSON field
	period string // for reasons: "day", "week", ...
	keep   Duration
	key    func(time.Time) string
}

func (r Retention) rules() []rule {
	return []rule{
		{"daily", "day", r.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", "week", r.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{"monthly", "month", r.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", "year", r.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
}

// Evaluate decides for every point at time now; loc (nil means UTC) sets the day, week, month and
// year boundaries. A point expires at CompletedAt plus the longest of Default and each rule whose
// period it is the first successful point of; a point that is not successful gets Default only. An
// expired point is deleted unless it is among the KeepLast newest successful points. On-demand
// points are deleted when their own ExpiresAt is set and not after now, and count neither as first
// of a period nor for KeepLast. Decisions are in the order of points.
func (r Retention) Evaluate(points []Point, now time.Time, loc *time.Location) []Decision {
	if loc == nil {
		loc = time.UTC
	}
	// Scheduled successful points, oldest first; the stable sort keeps input order among equal times.
	var successful []int
	for i, p := range points {
		if p.Successful && !p.OnDemand {
			successful = append(successful, i)
		}
	}
	slices.SortStableFunc(successful, func(a, b int) int {
		return points[a].CompletedAt.Compare(points[b].CompletedAt)
	})

	keep := make([]Duration, len(points))
	why := make([]string, len(points))
	for i := range points {
		keep[i], why[i] = r.Default, "default "+r.Default.String()
	}
	for _, rl := range r.rules() {
		if rl.keep <= 0 {
			continue
		}
		seen := map[string]bool{}
		for _, i := range successful {
			key := rl.key(points[i].CompletedAt.In(loc))
			if seen[key] {
				continue
			}
			seen[key] = true
			if rl.keep > keep[i] {
				keep[i] = rl.keep
				why[i] = fmt.Sprintf("first successful backup of %s %s (%s %s)", rl.period, key, rl.name, rl.keep)
			}
		}
	}
	guarded := make([]bool, len(points))
	for _, i := range successful[len(successful)-min(len(successful), max(r.KeepLast, 0)):] {
		guarded[i] = true
	}

	decisions := make([]Decision, len(points))
	for i, p := range points {
		d := Decision{ID: p.ID}
		switch {
		case p.OnDemand:
			d.ExpiresAt = p.ExpiresAt
			d.Delete = !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now)
			d.Reason = onDemandReason(p.ExpiresAt, d.Delete)
		case p.CompletedAt.Add(time.Duration(keep[i])).After(now):
			d.ExpiresAt = p.CompletedAt.Add(time.Duration(keep[i]))
			d.Reason = "kept: " + why[i]
		case guarded[i]:
			d.Reason = fmt.Sprintf("kept: one of the last %d successful", r.KeepLast)
		default:
			d.ExpiresAt = p.CompletedAt.Add(time.Duration(keep[i]))
			d.Delete = true
			d.Reason = "expired: " + why[i]
		}
		decisions[i] = d
	}
	return decisions
}

func onDemandReason(expires time.Time, expired bool) string {
	switch {
	case expires.IsZero():
		return "kept: on-demand, no expiry"
	case expired:
		return "expired: on-demand, expired " + expires.UTC().Format(time.RFC3339)
	default:
		return "kept: on-demand until " + expires.UTC().Format(time.RFC3339)
	}
}
