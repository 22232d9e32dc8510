package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cairnbackup/cairn/internal/vault/events"
)

// RecordEvent records e unless its vault has an event of its key (recorded is false then).
func (s *Store) RecordEvent(ctx context.Context, e events.Event) (recorded bool, err error) {
	return recordEvent(ctx, s.writes, e)
}

// RecordEvent is Store.RecordEvent in the job life cycle's transaction, so a job's end and its
// event are stored together.
func (t *jobTx) RecordEvent(ctx context.Context, e events.Event) (bool, error) {
	return recordEvent(ctx, t.tx, e)
}

func recordEvent(ctx context.Context, ex execer, e events.Event) (bool, error) {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return false, fmt.Errorf("encode the details of event %q: %w", e.Key, err)
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO events (vault, type, event_key, at, instance, cluster, job, recovery_point, summary, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (vault, event_key) DO NOTHING`,
		e.Vault, string(e.Type), e.Key, e.At.UTC(), e.Instance, e.Cluster, e.Job, e.RecoveryPoint, e.Summary, string(details))
	if err != nil {
		return false, fmt.Errorf("record event %q: %w", e.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record event %q: %w", e.Key, err)
	}
	return n == 1, nil
}

// eventColumns are the columns scanEvent reads, of the events table aliased e.
const eventColumns = `e.id, e.vault, e.type, e.event_key, e.at, e.instance, e.cluster, e.job, e.recovery_point, e.summary, e.details`

func scanEvent(sc interface{ Scan(...any) error }, extra ...any) (events.Event, error) {
	var e events.Event
	var typ, details string
	if err := sc.Scan(append([]any{&e.ID, &e.Vault, &typ, &e.Key, &e.At, &e.Instance, &e.Cluster, &e.Job, &e.RecoveryPoint,
		&e.Summary, &details}, extra...)...); err != nil {
		return e, fmt.Errorf("read event: %w", err)
	}
	e.Type, e.At = events.Type(typ), e.At.UTC()
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		return e, fmt.Errorf("decode the details of event %d: %w", e.ID, err)
	}
	return e, nil
}
