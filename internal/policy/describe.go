package policy

import "fmt"

// Describe says the schedule in words, e.g. "every 4h (Europe/Berlin)".
func (s Schedule) Describe() string {
	var out string
	switch {
	case s.EveryHours > 0:
		out = fmt.Sprintf("every %dh", s.EveryHours)
	case s.DailyAt != "":
		out = "daily at " + s.DailyAt
	default:
		out = "cron " + s.Cron
	}
	if s.TimeZone != "" {
		out += " (" + s.TimeZone + ")"
	}
	return out
}

// Describe says the retention rules in words, e.g. "keep 7d, daily 30d, always the last 3".
func (r Retention) Describe() string {
	out := "keep " + r.Default.String()
	for _, rule := range []struct {
		name string
		d    Duration
	}{{"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}} {
		if rule.d > 0 {
			out += fmt.Sprintf(", %s %s", rule.name, rule.d)
		}
	}
	if r.KeepLast > 0 {
		out += fmt.Sprintf(", always the last %d", r.KeepLast)
	}
	return out
}

// DescribeRPO says the recovery point objective in words: the policy's, or how the default is made.
func (p Policy) DescribeRPO() string {
	if p.RPO > 0 {
		return p.RPO.String()
	}
	return "the schedule's longest gap plus 1h"
}
