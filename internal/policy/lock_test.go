package policy

import (
	"strings"
	"testing"
	"time"
)

func TestLockForIsBoundedByTheRetention(t *testing.T) {
	p := Policy{Name: "ledger", Schedule: Schedule{EveryHours: 4}, Retention: Retention{Default: Duration(7 * 24 * time.Hour)}}
	for lock, want := range map[Duration]string{
		0:                                "",
		Duration(7 * 24 * time.Hour):     "",
		Duration(8 * 24 * time.Hour):     "lockFor 8d is longer than retention.default 1w",
		Duration(-time.Hour):             "must not be negative",
		MaxLockFor + Duration(time.Hour): "at most",
	} {
		p.LockFor = lock
		err := p.Validate()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("lockFor %s: %v, want %q", lock, err, want)
		}
	}
	p.LockFor = Duration(24 * time.Hour)
	if got := p.EffectiveLockFor(Duration(time.Hour)); got != 24*time.Hour {
		t.Errorf("a shorter instance lock won: %s", got)
	}
}
