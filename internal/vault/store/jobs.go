package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

const jobColumns = `id, kind, instance, cluster, recovery_point, state, trigger_kind, created_by, attempt, created_at, started_at,
	finished_at, progress_items, progress_bytes, progress_message, error, cancel_requested, lease_key, spec, result`

// rowQuerier is what reading one row needs of a database or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// GetJob reads one job.
func (s *Store) GetJob(ctx context.Context, vault string, id int64) (jobs.Record, error) {
	return getJob(ctx, s.db, vault, id)
}

func getJob(ctx context.Context, q rowQuerier, vault string, id int64) (jobs.Record, error) {
	row := q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE vault = $1 AND id = $2`, vault, id)
	j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return j, err
}

// JobFilter narrows ListJobs; empty fields match everything.
type JobFilter struct {
	State, Kind, Instance, Cluster, RecoveryPoint string
	Since                                         time.Time // only jobs created at or after it (zero: all)
}

// JobCounts counts the vault's jobs created at or after since, by state.
func (s *Store) JobCounts(ctx context.Context, vault string, since time.Time) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs WHERE vault = $1 AND created_at >= $2 GROUP BY state`, vault, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}

// ListJobs returns jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, vault string, f JobFilter, page Page) (List[jobs.Record], error) {
	out := List[jobs.Record]{Items: []jobs.Record{}}
	limit, before, err := page.bounds()
	if err != nil {
		return out, err
	}
	var c conditions
	c.add("vault = ?", vault)
	c.addIf("state = ?", f.State)
	c.addIf("kind = ?", f.Kind)
	c.addIf("instance = ?", f.Instance)
	c.addIf("cluster = ?", f.Cluster)
	c.addIf("recovery_point = ?", f.RecoveryPoint)
	if !f.Since.IsZero() {
		c.add("created_at >= ?", f.Since.UTC())
	}
	c.add("id < ?", before)
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+c.where()+` ORDER BY id DESC LIMIT `+c.param(limit), c.args...)
	if err != nil {
		return out, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, j)
	}
	if n := len(out.Items); n > 0 {
		out.Next = next(n, limit, out.Items[n-1].ID)
	}
	return out, rows.Err()
}

func scanJob(row scanner) (jobs.Record, error) {
	var j jobs.Record
	var kind, state string
	var started, finished sql.NullTime
	var leaseKey, result sql.NullString
	var spec string
	err := row.Scan(&j.ID, &kind, &j.Instance, &j.Cluster, &j.RecoveryPoint, &state, &j.Trigger, &j.CreatedBy, &j.Attempt, &j.CreatedAt,
		&started, &finished, &j.Progress.Items, &j.Progress.Bytes, &j.Progress.Message, &j.Error, &j.CancelRequested, &leaseKey, &spec, &result)
	if err != nil {
		return j, err
	}
	j.Kind, j.State = jobs.Kind(kind), jobs.State(state)
	j.CreatedAt = j.CreatedAt.UTC()
	j.StartedAt = utcPtr(started)
	j.FinishedAt = utcPtr(finished)
	j.LeaseKey = leaseKey.String
	j.Spec = []byte(spec)
	if result.Valid {
		j.Result = []byte(result.String)
	}
	return j, nil
}

func utcPtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// LogLine is one line of a job's log.
type LogLine struct {
	Seq     int64 // from 1, in the order the lines were added
	Time    time.Time
	Level   string
	Message string
}

// JobLogs returns up to limit log lines of a job after seq.
func (s *Store) JobLogs(ctx context.Context, vault string, id, after int64, limit int) (List[LogLine], error) {
	out := List[LogLine]{Items: []LogLine{}}
	if _, err := s.GetJob(ctx, vault, id); err != nil {
		return out, err
	}
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, level, message FROM job_logs WHERE job = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit)
	if err != nil {
		return out, fmt.Errorf("read log of job %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var l LogLine
		if err := rows.Scan(&l.Seq, &l.Time, &l.Level, &l.Message); err != nil {
			return out, err
		}
		l.Time = l.Time.UTC()
		out.Items = append(out.Items, l)
	}
	return out, rows.Err()
}

// HasOpenJob tells whether the instance has a queued or running job of that kind (for recovery
// point rp, if not empty).
func (s *Store) HasOpenJob(ctx context.Context, vault, instance string, kind jobs.Kind, rp string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE vault = $1 AND instance = $2 AND kind = $3
		AND ($4 = '' OR recovery_point = $4) AND state IN ('queued', 'running')`, vault, instance, string(kind), rp).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count open %s jobs of instance %q: %w", kind, instance, err)
	}
	return n > 0, nil
}

// OpenJobInstances names the instances of the vault that have a queued or running job of that kind.
func (s *Store) OpenJobInstances(ctx context.Context, vault string, kind jobs.Kind) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT instance FROM jobs WHERE vault = $1 AND kind = $2
		AND state IN ('queued', 'running')`, vault, string(kind))
	if err != nil {
		return nil, fmt.Errorf("find instances with open %s jobs: %w", kind, err)
	}
	defer rows.Close()
	open := map[string]bool{}
	for rows.Next() {
		var instance string
		if err := rows.Scan(&instance); err != nil {
			return nil, err
		}
		open[instance] = true
	}
	return open, rows.Err()
}
