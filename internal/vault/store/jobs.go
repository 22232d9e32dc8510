package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// MaxAttempts is how often a backup whose agent stopped reporting is tried.
const MaxAttempts = 3

// NewJob is a job to queue.
type NewJob struct {
	Kind          string
	Instance      string
	Cluster       string
	RecoveryPoint string // the one a backup makes, or a restore, delete or verify reads
	Trigger       string
	CreatedBy     string
	Attempt       int // default 1
	Spec          wire.JobSpec
}

// leaseKey serialises the jobs that touch an instance's repository: backups, deletions and
// verifications of one instance never run at once. Restores run alongside them.
func leaseKey(j NewJob) any {
	if j.Kind == wire.KindRestore || j.Instance == "" {
		return nil
	}
	return j.Instance
}

// QueueBackup queues a backup job. Its recovery point is named j.RecoveryPoint, or that with a
// suffix (-2, -3, ...) when a backup job of the vault has taken the name; the name chosen is
// written into the job's spec in the same transaction.
func (s *Store) QueueBackup(ctx context.Context, vault string, j NewJob) (wire.Job, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = queueBackup(ctx, tx, vault, j, s.now())
		return err
	})
	if err != nil {
		return wire.Job{}, err
	}
	return s.GetJob(ctx, vault, id)
}

func queueBackup(ctx context.Context, tx *sql.Tx, vault string, j NewJob, now time.Time) (int64, error) {
	name, err := uniqueRecoveryPointName(ctx, tx, vault, j.RecoveryPoint)
	if err != nil {
		return 0, err
	}
	j.RecoveryPoint = name
	if j.Spec.Backup != nil {
		spec := *j.Spec.Backup
		spec.RecoveryPoint = name
		j.Spec.Backup = &spec
	}
	return insertJob(ctx, tx, vault, j, now)
}

// ScheduledRun is a run of an instance's schedule the scheduler records.
type ScheduledRun struct {
	Instance string
	At       time.Time
	// Backup is the job the run queues (named as QueueBackup names it); nil when a backup of the
	// instance still queued or running absorbs the run.
	Backup *NewJob
}

// runsPerTransaction bounds how long RecordRuns holds the database's write lock at a time.
const runsPerTransaction = 500

// RecordRuns queues the runs' backups and records each run's time as its instance's last
// scheduled run, a run's job and its record in the same transaction, many runs to a transaction
// (a commit per run would make the top of the hour take seconds per thousand instances). It
// returns the IDs of the jobs it queued, in order.
func (s *Store) RecordRuns(ctx context.Context, vault string, runs []ScheduledRun) ([]int64, error) {
	var ids []int64
	for len(runs) > 0 {
		batch := runs[:min(len(runs), runsPerTransaction)]
		var queued []int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			queued = queued[:0]
			now := s.now()
			for _, r := range batch {
				if r.Backup != nil {
					id, err := queueBackup(ctx, tx, vault, *r.Backup, now)
					if err != nil {
						return fmt.Errorf("instance %q: %w", r.Instance, err)
					}
					queued = append(queued, id)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE instances SET last_scheduled = $1 WHERE vault = $2 AND name = $3`,
					r.At.UTC(), vault, r.Instance); err != nil {
					return fmt.Errorf("record schedule of instance %q: %w", r.Instance, err)
				}
			}
			return nil
		})
		if err != nil {
			return ids, err
		}
		ids = append(ids, queued...)
		runs = runs[len(batch):]
	}
	return ids, nil
}

// CreateJob queues a job.
func (s *Store) CreateJob(ctx context.Context, vault string, j NewJob) (wire.Job, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertJob(ctx, tx, vault, j, s.now())
		return err
	})
	if err != nil {
		return wire.Job{}, err
	}
	return s.GetJob(ctx, vault, id)
}

func insertJob(ctx context.Context, tx *sql.Tx, vault string, j NewJob, now time.Time) (int64, error) {
	if j.Attempt == 0 {
		j.Attempt = 1
	}
	spec, err := json.Marshal(j.Spec)
	if err != nil {
		return 0, fmt.Errorf("encode job spec: %w", err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO jobs (vault, kind, instance, cluster, recovery_point, state, trigger_kind, created_by,
		attempt, created_at, spec, lease_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		vault, j.Kind, j.Instance, j.Cluster, j.RecoveryPoint, wire.JobQueued, j.Trigger, j.CreatedBy, j.Attempt, now.UTC(),
		string(spec), leaseKey(j)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue %s job: %w", j.Kind, err)
	}
	return id, nil
}

const jobColumns = `id, kind, instance, cluster, state, trigger_kind, created_by, attempt, created_at, started_at, finished_at,
	progress_items, progress_bytes, progress_message, error, cancel_requested, spec, result`

// GetJob reads one job.
func (s *Store) GetJob(ctx context.Context, vault string, id int64) (wire.Job, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE vault = $1 AND id = $2`, vault, id)
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
func (s *Store) ListJobs(ctx context.Context, vault string, f JobFilter, page Page) (wire.List[wire.Job], error) {
	out := wire.List[wire.Job]{Items: []wire.Job{}}
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

func scanJob(row scanner) (wire.Job, error) {
	var j wire.Job
	var started, finished sql.NullTime
	var spec string
	var result sql.NullString
	err := row.Scan(&j.ID, &j.Kind, &j.Instance, &j.Cluster, &j.State, &j.Trigger, &j.CreatedBy, &j.Attempt, &j.CreatedAt,
		&started, &finished, &j.Progress.Items, &j.Progress.Bytes, &j.Progress.Message, &j.Error, &j.CancelRequested, &spec, &result)
	if err != nil {
		return j, err
	}
	j.CreatedAt = j.CreatedAt.UTC()
	j.StartedAt = utcPtr(started)
	j.FinishedAt = utcPtr(finished)
	if err := json.Unmarshal([]byte(spec), &j.Spec); err != nil {
		return j, fmt.Errorf("decode spec of job %d: %w", j.ID, err)
	}
	if result.Valid {
		j.Result = &wire.JobResult{}
		if err := json.Unmarshal([]byte(result.String), j.Result); err != nil {
			return j, fmt.Errorf("decode result of job %d: %w", j.ID, err)
		}
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

// ClaimJob gives the cluster's agent its oldest queued job whose instance has no running job, with
// a lease until now+lease; ok is false when there is none.
func (s *Store) ClaimJob(ctx context.Context, vault, cluster string, lease time.Duration) (job wire.Job, ok bool, err error) {
	now := s.now().UTC()
	var id int64
	// r.state = 'running' is written out, not a parameter, so that the lookup uses the partial index
	// jobs_one_running_per_key (SQLite cannot match a parameter against the index's WHERE clause
	// and would read every job of the vault for each queued one).
	err = s.writes.QueryRowContext(ctx, `UPDATE jobs SET state = $1, started_at = $2, lease_expires = $3
		WHERE id = (SELECT q.id FROM jobs q WHERE q.vault = $4 AND q.cluster = $5 AND q.state = $6
			AND (q.lease_key IS NULL OR NOT EXISTS (
				SELECT 1 FROM jobs r WHERE r.vault = q.vault AND r.lease_key = q.lease_key AND r.state = 'running'))
			ORDER BY q.id LIMIT 1)
		AND state = $6 RETURNING id`,
		wire.JobRunning, now, now.Add(lease), vault, cluster, wire.JobQueued).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || err != nil && isUniqueViolation(err) {
		// Nothing queued, or another claim took the instance's lease first.
		return wire.Job{}, false, nil
	}
	if err != nil {
		return wire.Job{}, false, fmt.Errorf("claim a job for cluster %q: %w", cluster, err)
	}
	job, err = s.GetJob(ctx, vault, id)
	return job, err == nil, err
}

// ReportProgress renews the lease of a running job of the cluster and records its progress and
// log lines. It returns whether a user asked to cancel the job. A job that is not running on this
// cluster (finished, cancelled, lease expired) is ErrNotFound: the agent must stop it.
func (s *Store) ReportProgress(ctx context.Context, vault, cluster string, id int64, r wire.ProgressReport, lease time.Duration) (bool, error) {
	now := s.now().UTC()
	var cancel bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE jobs SET lease_expires = $1, progress_items = $2, progress_bytes = $3, progress_message = $4
			WHERE vault = $5 AND id = $6 AND cluster = $7 AND state = $8 RETURNING cancel_requested`,
			now.Add(lease), r.Progress.Items, r.Progress.Bytes, r.Progress.Message, vault, id, cluster, wire.JobRunning).Scan(&cancel)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("job %d is not running on cluster %q: %w", id, cluster, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("record progress of job %d: %w", id, err)
		}
		return appendLogs(ctx, tx, id, r.Logs, now)
	})
	return cancel, err
}

// appendLogs adds log lines to a job, numbering them after its last line.
func appendLogs(ctx context.Context, tx *sql.Tx, id int64, lines []wire.LogLine, now time.Time) error {
	if len(lines) == 0 {
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE jobs SET log_seq = log_seq + $1 WHERE id = $2 RETURNING log_seq`, len(lines), id).Scan(&seq); err != nil {
		return fmt.Errorf("number log lines of job %d: %w", id, err)
	}
	seq -= int64(len(lines))
	for _, l := range lines {
		seq++
		at := l.Time
		if at.IsZero() {
			at = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO job_logs (job, seq, at, level, message) VALUES ($1, $2, $3, $4, $5)`,
			id, seq, at.UTC(), l.Level, l.Message); err != nil {
			return fmt.Errorf("store log line of job %d: %w", id, err)
		}
	}
	return nil
}

// AppendJobLog adds a line from the vault itself (scheduler, lease expiry) to a job's log.
func (s *Store) AppendJobLog(ctx context.Context, id int64, level, message string) error {
	now := s.now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return appendLogs(ctx, tx, id, []wire.LogLine{{Time: now, Level: level, Message: message}}, now)
	})
}

// JobLogs returns up to limit log lines of a job after seq.
func (s *Store) JobLogs(ctx context.Context, vault string, id, after int64, limit int) (wire.List[wire.LogLine], error) {
	out := wire.List[wire.LogLine]{Items: []wire.LogLine{}}
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
		var l wire.LogLine
		if err := rows.Scan(&l.Seq, &l.Time, &l.Level, &l.Message); err != nil {
			return out, err
		}
		l.Time = l.Time.UTC()
		out.Items = append(out.Items, l)
	}
	return out, rows.Err()
}

// CompleteJob records how a running job of the cluster ended: its state, error, result and last
// log lines; a backup's recovery point is recorded, a deletion's marked deleted. A job not running
// on this cluster is ErrNotFound.
func (s *Store) CompleteJob(ctx context.Context, vault, cluster string, id int64, c wire.Completion) error {
	switch c.State {
	case wire.JobSucceeded, wire.JobPartiallyFailed, wire.JobFailed, wire.JobCancelled:
	default:
		return fmt.Errorf("state: %q is not a final job state (succeeded, partially-failed, failed, cancelled): %w", c.State, ErrInvalid)
	}
	now := s.now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var kind, instance, rpName string
		err := tx.QueryRowContext(ctx, `SELECT kind, instance, recovery_point FROM jobs WHERE vault = $1 AND id = $2 AND cluster = $3 AND state = $4`,
			vault, id, cluster, wire.JobRunning).Scan(&kind, &instance, &rpName)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("job %d is not running on cluster %q: %w", id, cluster, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read job %d: %w", id, err)
		}
		var result any
		if c.Result != nil {
			b, err := json.Marshal(c.Result)
			if err != nil {
				return fmt.Errorf("encode result of job %d: %w", id, err)
			}
			result = string(b)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $1, error = $2, result = $3, finished_at = $4, lease_key = NULL,
			lease_expires = NULL WHERE id = $5`, c.State, c.Error, result, now, id); err != nil {
			return fmt.Errorf("complete job %d: %w", id, err)
		}
		if err := appendLogs(ctx, tx, id, c.Logs, now); err != nil {
			return err
		}
		switch {
		case kind == wire.KindBackup && c.Result != nil && c.Result.RecoveryPoint != nil:
			rp := *c.Result.RecoveryPoint
			rp.Name, rp.Instance, rp.Cluster, rp.Job = rpName, instance, cluster, id
			if rp.Time.IsZero() {
				rp.Time = now
			}
			return insertRecoveryPoint(ctx, tx, vault, rp)
		case kind == wire.KindRetentionDelete && c.State == wire.JobSucceeded:
			return markRecoveryPointDeleted(ctx, tx, vault, rpName, now)
		}
		return nil
	})
}

// CancelJob cancels a queued job at once and asks the agent of a running one to stop; a finished
// job is ErrConflict.
func (s *Store) CancelJob(ctx context.Context, vault string, id int64, by string) (wire.Job, error) {
	now := s.now().UTC()
	res, err := s.writes.ExecContext(ctx, `UPDATE jobs SET state = $1, finished_at = $2, error = $3 WHERE vault = $4 AND id = $5 AND state = $6`,
		wire.JobCancelled, now, "cancelled by "+by, vault, id, wire.JobQueued)
	if err != nil {
		return wire.Job{}, fmt.Errorf("cancel job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		res, err = s.writes.ExecContext(ctx, `UPDATE jobs SET cancel_requested = TRUE WHERE vault = $1 AND id = $2 AND state = $3`,
			vault, id, wire.JobRunning)
		if err != nil {
			return wire.Job{}, fmt.Errorf("cancel job %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			j, err := s.GetJob(ctx, vault, id)
			if err != nil {
				return j, err
			}
			return j, fmt.Errorf("job %d already ended %s: %w", id, j.State, ErrConflict)
		}
	}
	if err := s.AppendJobLog(ctx, id, "info", "cancel requested by "+by); err != nil {
		return wire.Job{}, err
	}
	return s.GetJob(ctx, vault, id)
}

// Expired is a job whose agent stopped reporting, and the retry queued for it (0 if none).
type Expired struct {
	Vault string
	Job   int64
	Retry int64
}

// ExpireLeases fails the running jobs whose lease ran out ("agent stopped reporting") and queues a
// retry of a backup that has attempts left. The retry makes a new recovery point and first deletes
// the incomplete one of the failed attempt. newName names a retry's recovery point (made unique
// as QueueBackup makes it).
func (s *Store) ExpireLeases(ctx context.Context, newName func(instance string, attempt int) string) ([]Expired, error) {
	now := s.now().UTC()
	// state = 'running' written out: the partial index jobs_running_by_lease serves it.
	rows, err := s.db.QueryContext(ctx, `SELECT vault, id FROM jobs WHERE state = 'running' AND lease_expires < $1 ORDER BY id`, now)
	if err != nil {
		return nil, fmt.Errorf("find expired leases: %w", err)
	}
	var expired []Expired
	for rows.Next() {
		var e Expired
		if err := rows.Scan(&e.Vault, &e.Job); err != nil {
			rows.Close()
			return nil, err
		}
		expired = append(expired, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := expired[:0]
	for _, e := range expired {
		j, err := s.GetJob(ctx, e.Vault, e.Job)
		if err != nil {
			return out, err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_key = NULL, lease_expires = NULL
				WHERE id = $4 AND state = $5 AND lease_expires < $3`, wire.JobFailed, "the agent stopped reporting (lease expired)", now, e.Job, wire.JobRunning)
			if err != nil {
				return fmt.Errorf("expire job %d: %w", e.Job, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errRaced
			}
			msg := "the agent stopped reporting: job failed"
			if j.Kind == wire.KindBackup && j.Spec.Backup != nil && j.Attempt < MaxAttempts {
				spec := *j.Spec.Backup
				spec.DeleteIncomplete = append(append([]string{}, spec.DeleteIncomplete...), spec.RecoveryPoint)
				e.Retry, err = queueBackup(ctx, tx, e.Vault, NewJob{Kind: j.Kind, Instance: j.Instance, Cluster: j.Cluster,
					RecoveryPoint: newName(j.Instance, j.Attempt+1), Trigger: "retry", CreatedBy: "vault", Attempt: j.Attempt + 1,
					Spec: wire.JobSpec{Backup: &spec}}, now)
				if err != nil {
					return err
				}
				msg = fmt.Sprintf("the agent stopped reporting: job failed; retried as job %d (attempt %d of %d)", e.Retry, j.Attempt+1, MaxAttempts)
			}
			return appendLogs(ctx, tx, e.Job, []wire.LogLine{{Time: now, Level: "error", Message: msg}}, now)
		})
		if errors.Is(err, errRaced) {
			continue // the agent completed it meanwhile
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

var errRaced = errors.New("changed meanwhile")

// HasOpenJob tells whether the instance has a queued or running job of that kind (for recovery
// point rp, if not empty).
func (s *Store) HasOpenJob(ctx context.Context, vault, instance, kind, rp string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE vault = $1 AND instance = $2 AND kind = $3
		AND ($4 = '' OR recovery_point = $4) AND state IN ('queued', 'running')`, vault, instance, kind, rp).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count open %s jobs of instance %q: %w", kind, instance, err)
	}
	return n > 0, nil
}

// OpenJobInstances names the instances of the vault that have a queued or running job of that kind.
func (s *Store) OpenJobInstances(ctx context.Context, vault, kind string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT instance FROM jobs WHERE vault = $1 AND kind = $2
		AND state IN ('queued', 'running')`, vault, kind)
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

// querier is what a lookup needs of a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// uniqueRecoveryPointName returns base, or base-N with the smallest N from 2 up, so that no backup
// job of the vault has made or is making a recovery point of that name. It asks for candidates
// nameCandidates at a time, by exact name (a range of names would follow the database's
// collation, which may ignore the '-').
func uniqueRecoveryPointName(ctx context.Context, q querier, vault, base string) (string, error) {
	for first := 1; ; first += nameCandidates {
		candidates := make([]any, nameCandidates)
		for i := range candidates {
			candidates[i] = base
			if n := first + i; n > 1 {
				candidates[i] = fmt.Sprintf("%s-%d", base, n)
			}
		}
		placeholders := make([]string, nameCandidates)
		for i := range placeholders {
			placeholders[i] = fmt.Sprintf("$%d", i+3)
		}
		rows, err := q.QueryContext(ctx, `SELECT recovery_point FROM jobs WHERE vault = $1 AND kind = $2 AND recovery_point IN (`+
			strings.Join(placeholders, ", ")+`)`, append([]any{vault, wire.KindBackup}, candidates...)...)
		if err != nil {
			return "", fmt.Errorf("check recovery point name %q: %w", base, err)
		}
		taken := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return "", fmt.Errorf("check recovery point name %q: %w", base, err)
			}
			taken[name] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("check recovery point name %q: %w", base, err)
		}
		for _, c := range candidates {
			if !taken[c.(string)] {
				return c.(string), nil
			}
		}
	}
}

// nameCandidates is how many recovery point names uniqueRecoveryPointName checks in one query.
const nameCandidates = 16
