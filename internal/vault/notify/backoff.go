package notify

import (
	"errors"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// MaxAttempts is how many times a delivery is tried: with the back-off, over about an hour.
const MaxAttempts = 8

// Retry back-off: the first retry after firstRetry, each next one twice as late, at most maxRetry.
const (
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
)

// RetryAfter is how long after its attempt-th failed attempt a delivery is tried again.
func RetryAfter(attempt int) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// Outcome is how an attempt at d that ended with err (nil: delivered) at now is recorded: a
// failure is tried again after RetryAfter, unless it was the last attempt, a test (whose sender
// is waiting for the answer) or its rule is gone.
func Outcome(d store.Delivery, err error, now time.Time) store.Attempt {
	if err == nil {
		return store.Attempt{State: store.DeliveryDelivered, At: now}
	}
	attempt := d.Attempts + 1
	if attempt >= MaxAttempts || d.Event.Type == events.Test || errors.Is(err, errRuleGone) {
		return store.Attempt{State: store.DeliveryFailed, Error: err.Error(), At: now}
	}
	next := now.Add(RetryAfter(attempt))
	return store.Attempt{State: store.DeliveryPending, NextAttempt: &next, Error: err.Error(), At: now}
}
