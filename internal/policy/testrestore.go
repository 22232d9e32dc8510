package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// TestRestore schedules automatic test restores of the instances on a policy
// (docs/design/monitoring.md, "Automatic test restores"): every Every, the newest good recovery
// point of an instance is restored into scratch namespaces of Cluster (empty: the instance's
// own), its pods get ReadyTimeout to become Ready, the Checks run, and the scratch namespaces go.
type TestRestore struct {
	Every        Duration           `json:"every"`
	Cluster      string             `json:"cluster,omitempty"`
	ReadyTimeout Duration           `json:"readyTimeout,omitempty"`
	Checks       []TestRestoreCheck `json:"checks,omitempty"`
}

// TestRestoreCheck is a command run in the restored pods of a source namespace that a label selector
// matches, directly, never through a shell; exit 0 passes.
type TestRestoreCheck struct {
	Namespace string   `json:"namespace"`
	Selector  string   `json:"selector,omitempty"`
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command"`
	Timeout   Duration `json:"timeout,omitempty"`
}

// Test restore defaults and bounds.
const (
	// DefaultReadyTimeout is how long restored pods get to become Ready unless the policy says.
	DefaultReadyTimeout = 5 * time.Minute
	// DefaultCheckTimeout bounds a check command unless it says.
	DefaultCheckTimeout = 30 * time.Second
	// minTestRestoreInterval is the shortest: each test restore runs the instance's workloads a
	// second time, in the chosen cluster.
	minTestRestoreInterval = time.Hour
)

// ReadyTimeoutOrDefault is how long restored pods get to become Ready.
func (t TestRestore) ReadyTimeoutOrDefault() time.Duration {
	if t.ReadyTimeout > 0 {
		return time.Duration(t.ReadyTimeout)
	}
	return DefaultReadyTimeout
}

// TimeoutOrDefault bounds the check command.
func (c TestRestoreCheck) TimeoutOrDefault() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return DefaultCheckTimeout
}

// Due tells whether a test restore is due at now, the last one (or the instance's creation)
// having been at last. Missed intervals collapse into one.
func (t TestRestore) Due(now, last time.Time) bool {
	return t.Every > 0 && !now.Before(last.Add(time.Duration(t.Every)))
}

// validate checks the test restore, each problem naming its field.
func (t TestRestore) validate() []error {
	var errs []error
	switch {
	case t.Every == 0:
		errs = append(errs, errors.New(`testRestore.every: required: how often to test-restore each instance (e.g. "7d")`))
	case time.Duration(t.Every) < minTestRestoreInterval:
		errs = append(errs, fmt.Errorf("testRestore.every %s: at least %s", t.Every, Duration(minTestRestoreInterval)))
	}
	if t.ReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("testRestore.readyTimeout %s: must be positive", t.ReadyTimeout))
	}
	if t.Cluster != "" {
		if err := validateName(t.Cluster); err != nil {
			errs = append(errs, fmt.Errorf("testRestore.cluster: %w", err))
		}
	}
	for i, c := range t.Checks {
		field := fmt.Sprintf("testRestore.checks[%d]", i)
		if c.Namespace == "" {
			errs = append(errs, fmt.Errorf("%s.namespace: required: the source namespace whose restored pods run the command", field))
		}
		if len(c.Command) == 0 || strings.TrimSpace(c.Command[0]) == "" {
			errs = append(errs, fmt.Errorf(`%s.command: required: the program and its arguments, run directly (no shell), e.g. ["pg_isready", "-q"]`, field))
		}
		if _, err := labels.Parse(c.Selector); err != nil {
			errs = append(errs, fmt.Errorf("%s.selector %q: %w", field, c.Selector, err))
		}
		if c.Timeout < 0 {
			errs = append(errs, fmt.Errorf("%s.timeout %s: must be positive", field, c.Timeout))
		}
	}
	return errs
}

// DescribeTestRestore is the test restores in a phrase: "every 7d in cluster staging, 1 check".
func (p Policy) DescribeTestRestore() string {
	t := p.TestRestore
	if t == nil {
		return "none"
	}
	s := "every " + t.Every.String()
	if t.Cluster != "" {
		s += " in cluster " + t.Cluster
	} else {
		s += " in the instance's cluster"
	}
	if n := len(t.Checks); n > 0 {
		s += fmt.Sprintf(", %d check command(s)", n)
	}
	return s
}
