package blob

import (
	"context"
	"fmt"
	"time"
)

// Locker is implemented by a Storage that can report the retention period of an object, to
// verify that a lock requested with PutOptions.RetainUntil is in place. Decorators implement it
// by asking the Storage they wrap through RetentionOf, so use RetentionOf rather than a type
// assertion.
type Locker interface {
	// Retention returns the end of key's retention period, or the zero time when key is not
	// locked (it never was, or the period is over). ErrNotFound if key is missing.
	Retention(ctx context.Context, key string) (time.Time, error)
	// ExtendRetention locks key until until, or keeps its retention period when that ends
	// later: a period is never shortened. An unlocked object (never locked, or its period over)
	// becomes locked. ErrNotFound if key is missing; until not in the future is an error.
	ExtendRetention(ctx context.Context, key string, until time.Time) error
}

// RetentionOf asks s for the retention period of key (see Locker). A Storage that is not a
// Locker cannot lock, so this fails with an error wrapping ErrRetentionUnsupported.
func RetentionOf(ctx context.Context, s Storage, key string) (time.Time, error) {
	if l, ok := s.(Locker); ok {
		return l.Retention(ctx, key)
	}
	return time.Time{}, fmt.Errorf("retention %s: %s: %w", key, s, ErrRetentionUnsupported)
}

// ExtendRetention asks s to lock key until at least until (see Locker). A Storage that is not a
// Locker cannot lock, so this fails with an error wrapping ErrRetentionUnsupported.
func ExtendRetention(ctx context.Context, s Storage, key string, until time.Time) error {
	if l, ok := s.(Locker); ok {
		return l.ExtendRetention(ctx, key, until)
	}
	return fmt.Errorf("extend retention %s: %s: %w", key, s, ErrRetentionUnsupported)
}

// CheckRetainUntil returns an error naming key when until, a PutOptions.RetainUntil that is not
// zero, is not after now: such a lock would end before it began.
func CheckRetainUntil(key string, until, now time.Time) error {
	if !until.IsZero() && !until.After(now) {
		return fmt.Errorf("put %s: retention until %s is not in the future", key, until.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// LockedError is the error for a Delete or overwrite (op "delete" or "put") refused because key
// is locked until until; it wraps ErrLocked.
func LockedError(op, key string, until time.Time) error {
	return fmt.Errorf("%s %s: locked until %s: %w", op, key, until.UTC().Format(time.RFC3339), ErrLocked)
}

// RoundUpToSecond rounds t up to a whole second, so that a lock is never shorter than asked:
// storage services keep retention dates without fractions.
func RoundUpToSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}
