package policy

import (
	"fmt"
	"time"
)

// MaxLockFor bounds how long a recovery point can be made immutable: a lock cannot be lifted
// before its time (S3 object lock in compliance mode not even by the account's root), so a typo
// must not lock storage for a century.
const MaxLockFor = Duration(10 * 366 * 24 * time.Hour)

// validateLockFor checks the lock of field against the retention whose default is the shortest a
// point is kept: a point must not expire while its files cannot be deleted.
func validateLockFor(field string, lock Duration, r Retention) error {
	switch {
	case lock < 0:
		return fmt.Errorf("%s %s: must not be negative", field, lock)
	case lock > MaxLockFor:
		return fmt.Errorf("%s %s: at most %s", field, lock, MaxLockFor)
	case lock > 0 && r.Default > 0 && lock > r.Default:
		return fmt.Errorf("%s %s is longer than retention.default %s: a recovery point would expire while its files cannot be deleted; lock for at most the retention", field, lock, r.Default)
	}
	return nil
}

// ValidateLockFor checks an instance's lock override against the policy.
func (p Policy) ValidateLockFor(lock Duration) error {
	return validateLockFor("lockFor", lock, p.Retention)
}

// EffectiveLockFor is how long the instance's recovery points are locked: the longer of the
// policy's lock and the instance's (an instance can make its points' lock longer, never shorter).
func (p Policy) EffectiveLockFor(instance Duration) time.Duration {
	return time.Duration(max(p.LockFor, instance))
}

// DescribeLock says how long the policy locks its recovery points.
func (p Policy) DescribeLock() string {
	if p.LockFor == 0 {
		return "none (recovery points can be deleted at any time)"
	}
	return fmt.Sprintf("each recovery point immutable in storage for %s after its backup", p.LockFor)
}
