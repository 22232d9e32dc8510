package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// JobCount is how many jobs of a kind a vault holds in a state.
type JobCount struct {
	Kind, State string
	Count       int
}

// JobsByKindAndState counts the vault's jobs by kind and state, all its history.
func (s *Store) JobsByKindAndState(ctx context.Context, vault string) ([]JobCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM jobs WHERE vault = $1 GROUP BY kind, state ORDER BY kind, state`, vault)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Kind, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OldestQueued returns, per kind with queued jobs in the vault, when the oldest was created.
func (s *Store) OldestQueued(ctx context.Context, vault string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT j.kind, j.created_at FROM jobs j WHERE j.vault = $1 AND j.state = 'queued' AND j.created_at = (
		SELECT MIN(o.created_at) FROM jobs o WHERE o.vault = j.vault AND o.kind = j.kind AND o.state = 'queued')`, vault)
	if err != nil {
		return nil, fmt.Errorf("read the oldest queued jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var kind string
		var at sql.NullTime
		if err := rows.Scan(&kind, &at); err != nil {
			return nil, fmt.Errorf("read the oldest queued jobs: %w", err)
		}
		out[kind] = at.Time.UTC()
	}
	return out, rows.Err()
}
