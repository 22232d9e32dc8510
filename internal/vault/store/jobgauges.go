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

// oldestQueuedQuery finds when the first job still queued of each kind was created. The open
// states' IN is written out as the partial index jobs_open_by_instance has it, so that SQLite
// searches the open jobs only: without it, it walked the vault's every job, once for each queued
// one (a metrics scrape at the top of the hour took minutes). The first is the lowest ID: a bare
// MIN(created_at) would come back from SQLite as text, without its column's type.
const oldestQueuedQuery = `SELECT kind, created_at FROM jobs WHERE id IN (
	SELECT MIN(id) FROM jobs WHERE vault = $1 AND state IN ('queued', 'running') AND state = 'queued' GROUP BY kind)`

// OldestQueued returns, per kind with queued jobs in the vault, when the first still queued was
// created.
func (s *Store) OldestQueued(ctx context.Context, vault string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, oldestQueuedQuery, vault)
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
