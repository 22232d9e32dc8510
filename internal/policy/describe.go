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

// Describe says the verification schedule in words, e.g. "structure every 7d, data every 30d".
func (v VerifySchedule) Describe() string {
	switch {
	case v.Structure > 0 && v.Data > 0:
		return fmt.Sprintf("structure every %s, data every %s", v.Structure, v.Data)
	case v.Data > 0:
		return fmt.Sprintf("data every %s", v.Data)
	case v.Structure > 0:
		return fmt.Sprintf("structure every %s", v.Structure)
	}
	return "none"
}

// DescribeVerify says the policy's verification schedule in words, "none" without one.
func (p Policy) DescribeVerify() string {
	if p.Verify == nil {
		return "none"
	}
	return p.Verify.Describe()
}
