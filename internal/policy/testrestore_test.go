package policy

import (
	"strings"
	"testing"
	"time"
)

func TestTestRestoreValidation(t *testing.T) {
	week, _ := ParseDuration("7d")
	base := Policy{Name: "daily", Schedule: Schedule{DailyAt: "02:00"}, Retention: Retention{Default: week}}
	for _, c := range []struct {
		name string
		tr   TestRestore
		want []string // "" when valid
	}{
		{"weekly", TestRestore{Every: week, Cluster: "staging", Checks: []TestRestoreCheck{{Namespace: "shop", Selector: "app=db", Command: []string{"pg_isready"}}}}, nil},
		{"no interval", TestRestore{}, []string{"testRestore.every: required"}},
		{"too often", TestRestore{Every: Duration(time.Minute)}, []string{"testRestore.every 1m: at least 1h"}},
		{"bad checks", TestRestore{Every: week, Cluster: "Staging!", ReadyTimeout: -1, Checks: []TestRestoreCheck{{Selector: "app in (", Command: []string{" "}}}},
			[]string{"testRestore.cluster: name", "testRestore.readyTimeout", "testRestore.checks[0].namespace: required",
				"testRestore.checks[0].command: required", `testRestore.checks[0].selector "app in ("`}},
	} {
		p := base
		tr := c.tr
		p.TestRestore = &tr
		err := p.Validate()
		if len(c.want) == 0 && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", c.name, err, w)
			}
		}
		if len(c.want) > 0 && len(c.want) != len(err.(interface{ Unwrap() []error }).Unwrap()) {
			t.Errorf("%s: %d problems, want %d: %v", c.name, len(err.(interface{ Unwrap() []error }).Unwrap()), len(c.want), err)
		}
	}
}

func TestTestRestoreDue(t *testing.T) {
	week, _ := ParseDuration("7d")
	tr := TestRestore{Every: week}
	last := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{{last.Add(6 * 24 * time.Hour), false}, {last.Add(7 * 24 * time.Hour), true}, {last.Add(40 * 24 * time.Hour), true}} {
		if got := tr.Due(c.at, last); got != c.want {
			t.Errorf("at %s: due %v, want %v", c.at, got, c.want)
		}
	}
	if (TestRestore{}).Due(last.Add(1000*time.Hour), last) {
		t.Error("a test restore without interval came due")
	}
	if got := (Policy{TestRestore: &TestRestore{Every: week, Cluster: "staging", Checks: []TestRestoreCheck{{}}}}).DescribeTestRestore(); got != "every 1w in cluster staging, 1 check command(s)" {
		t.Errorf("describe: %q", got)
	}
}
