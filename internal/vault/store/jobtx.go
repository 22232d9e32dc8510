package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// The store holds the job life cycle's decisions (package jobs).
var (
	_ jobs.Store = (*Store)(nil)
	_ jobs.Tx    = (*jobTx)(nil)
)

// InTx runs fn in a transaction, committed if fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(jobs.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(&jobTx{tx: tx, dialect: s.dialect}) })
}

// runsPerTransaction is how many units of work InTxBatches commits at a time. It bounds how long the
// scheduled runs of a tick (jobs.RecordRuns) hold the database's write lock (about 0.4 s on
// SQLite); a commit per run would make the top of the hour take seconds per thousand instances,
// and 500 (until 2026-12-06) wrote each index page the hour's jobs touch to SQLite's log several
// times: 5,000 instances were queued about 0.2 s later than with 2,500.
const runsPerTransaction = 2500

// InTxBatches calls fn for units 0 to n-1 in batches of runsPerTransaction, a transaction each,
// and stops at the first error; it returns how many units were committed.
func (s *Store) InTxBatches(ctx context.Context, n int, fn func(tx jobs.Tx, from, to int) error) (int, error) {
	done := 0
	for done < n {
		end := min(n, done+runsPerTransaction)
		if err := s.InTx(ctx, func(tx jobs.Tx) error { return fn(tx, done, end) }); err != nil {
			return done, err
		}
		done = end
	}
	return done, nil
}

// ClaimJob moves the cluster's oldest queued job of one of kinds whose lease key no running job
// holds to running, started at now and leased until leaseUntil; ok is false when there is none.
func (s *Store) ClaimJob(ctx context.Context, vault, cluster string, kinds []string, now, leaseUntil time.Time) (id int64, ok bool, err error) {
	if len(kinds) == 0 {
		return 0, false, nil
	}
	args := []any{string(jobs.Running), now.UTC(), leaseUntil.UTC(), vault, cluster, string(jobs.Queued)}
	in := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		in[i] = fmt.Sprintf("$%d", len(args))
	}
	// r.state = 'running' is written out, not a parameter, so that the lookup uses the partial index
	// jobs_one_running_per_key (SQLite cannot match a parameter against the index's WHERE clause
	// and would read every job of the vault for each queued one).
	err = s.writes.QueryRowContext(ctx, `UPDATE jobs SET state = $1, started_at = $2, lease_expires = $3
		WHERE id = (SELECT q.id FROM jobs q WHERE q.vault = $4 AND q.cluster = $5 AND q.state = $6
			AND q.kind IN (`+strings.Join(in, ", ")+`)
			AND (q.lease_key IS NULL OR NOT EXISTS (
				SELECT 1 FROM jobs r WHERE r.vault = q.vault AND r.lease_key = q.lease_key AND r.state = 'running'))
			ORDER BY q.id LIMIT 1)
		AND state = $6 RETURNING id`, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || err != nil && isUniqueViolation(err) {
		// Nothing queued, or another claim took the instance's lease first.
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("claim a job for cluster %q: %w", cluster, err)
	}
	return id, true, nil
}

// expiredLeasesQuery finds the running jobs whose lease ended. state = 'running' is written out:
// the partial index jobs_running_by_lease serves it. It has no ORDER BY: asked for the jobs in id
// order, SQLite walks the whole table in that order rather than sort the few the index finds.
const expiredLeasesQuery = `SELECT vault, id FROM jobs WHERE state = 'running' AND lease_expires < $1`

// ExpiredLeases lists the running jobs of every vault whose lease ended before now, oldest first.
func (s *Store) ExpiredLeases(ctx context.Context, now time.Time) ([]jobs.JobRef, error) {
	rows, err := s.db.QueryContext(ctx, expiredLeasesQuery, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("find expired leases: %w", err)
	}
	defer rows.Close()
	var out []jobs.JobRef
	for rows.Next() {
		var r jobs.JobRef
		if err := rows.Scan(&r.Vault, &r.ID); err != nil {
			return nil, fmt.Errorf("find expired leases: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find expired leases: %w", err)
	}
	slices.SortFunc(out, func(a, b jobs.JobRef) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// jobTx is a transaction of the store as the job life cycle uses it.
type jobTx struct {
	tx      *sql.Tx
	dialect dialect
}

func (t *jobTx) GetJob(ctx context.Context, vault string, id int64) (jobs.Record, error) {
	return getJob(ctx, t.tx, vault, id)
}

func (t *jobTx) InsertJob(ctx context.Context, vault string, r jobs.Record) (int64, error) {
	var id int64
	err := t.tx.QueryRowContext(ctx, `INSERT INTO jobs (`+newJobColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		jobValues(vault, r)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue %s job: %w", r.Kind, err)
	}
	return id, nil
}

// newJobColumns are the columns a new job is inserted with, in the order of jobValues.
const newJobColumns = `vault, kind, instance, cluster, recovery_point, state, trigger_kind, created_by, attempt, created_at, spec, lease_key`

// jobValues are the values of r's row in newJobColumns' order.
func jobValues(vault string, r jobs.Record) []any {
	var leaseKey any // NULL: the job holds no key
	if r.LeaseKey != "" {
		leaseKey = r.LeaseKey
	}
	return []any{vault, string(r.Kind), r.Instance, r.Cluster, r.RecoveryPoint, string(r.State), r.Trigger, r.CreatedBy, r.Attempt,
		r.CreatedAt.UTC(), string(r.Spec), leaseKey}
}

// insertRowsPerStatement bounds the rows of one multi-row INSERT (1,200 parameters): well under
// the databases' limits, and still only a few round trips to PostgreSQL for the top of the hour.
const insertRowsPerStatement = 100

// InsertJobs stores jobs of distinct recovery points with multi-row INSERTs and returns their IDs
// in order (told apart by recovery point: the order RETURNING gives rows in is unspecified).
func (t *jobTx) InsertJobs(ctx context.Context, vault string, rs []jobs.Record) ([]int64, error) {
	index := make(map[string]int, len(rs))
	for i, r := range rs {
		if _, dup := index[r.RecoveryPoint]; dup || r.RecoveryPoint == "" {
			return nil, fmt.Errorf("queue %d jobs at once: recovery point %q is not one of its own", len(rs), r.RecoveryPoint)
		}
		index[r.RecoveryPoint] = i
	}
	ids := make([]int64, len(rs))
	for from := 0; from < len(rs); from += insertRowsPerStatement {
		if err := t.insertRows(ctx, vault, rs[from:min(from+insertRowsPerStatement, len(rs))], index, ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// insertRows inserts rs in one statement, setting each one's ID in ids at its index.
func (t *jobTx) insertRows(ctx context.Context, vault string, rs []jobs.Record, index map[string]int, ids []int64) error {
	p := params{mark: t.dialect.param}
	rows := make([]string, len(rs))
	for i, r := range rs {
		var marks []string
		for _, v := range jobValues(vault, r) {
			marks = append(marks, p.param(v))
		}
		rows[i] = "(" + strings.Join(marks, ", ") + ")"
	}
	res, err := t.tx.QueryContext(ctx, `INSERT INTO jobs (`+newJobColumns+`) VALUES `+strings.Join(rows, ", ")+` RETURNING id, recovery_point`, p.args...)
	if err != nil {
		return fmt.Errorf("queue %d %s jobs: %w", len(rs), rs[0].Kind, err)
	}
	defer res.Close()
	got := 0
	for res.Next() {
		var id int64
		var rp string
		if err := res.Scan(&id, &rp); err != nil {
			return fmt.Errorf("queue %d %s jobs: %w", len(rs), rs[0].Kind, err)
		}
		ids[index[rp]] = id
		got++
	}
	if err := res.Err(); err != nil || got != len(rs) {
		return fmt.Errorf("queue %d %s jobs: %d queued: %w", len(rs), rs[0].Kind, got, err)
	}
	return nil
}

// TakenRecoveryPointNames tells which of names a backup job of the vault has made or is making.
func (t *jobTx) TakenRecoveryPointNames(ctx context.Context, vault string, names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return map[string]bool{}, nil
	}
	p := params{mark: t.dialect.param}
	query := `SELECT recovery_point FROM jobs WHERE vault = ` + p.param(vault) + ` AND kind = ` + p.param(string(jobs.KindBackup)) +
		` AND recovery_point IN (` + p.list(names) + `)`
	taken, err := t.takenNames(ctx, query, p.args)
	if err != nil {
		return nil, fmt.Errorf("check %d recovery point names: %w", len(names), err)
	}
	return taken, nil
}

// nameCandidates is how many recovery point names FreeRecoveryPointName checks in one query.
const nameCandidates = 16

// FreeRecoveryPointName returns the first of candidates that no backup job of the vault has made
// or is making as its recovery point. It asks for candidates nameCandidates at a time, by exact
// name (a range of names would follow the database's collation, which may ignore the '-').
func (t *jobTx) FreeRecoveryPointName(ctx context.Context, vault string, candidates iter.Seq[string]) (string, error) {
	next, stop := iter.Pull(candidates)
	defer stop()
	for {
		args := []any{vault, string(jobs.KindBackup)}
		var names, placeholders []string
		for len(names) < nameCandidates {
			name, ok := next()
			if !ok {
				break
			}
			names = append(names, name)
			args = append(args, name)
			placeholders = append(placeholders, fmt.Sprintf("$%d", len(args)))
		}
		if len(names) == 0 {
			return "", fmt.Errorf("every recovery point name offered is taken: %w", ErrExists)
		}
		taken, err := t.takenNames(ctx, `SELECT recovery_point FROM jobs WHERE vault = $1 AND kind = $2 AND recovery_point IN (`+
			strings.Join(placeholders, ", ")+`)`, args)
		if err != nil {
			return "", fmt.Errorf("check recovery point name %q: %w", names[0], err)
		}
		for _, name := range names {
			if !taken[name] {
				return name, nil
			}
		}
	}
}

func (t *jobTx) takenNames(ctx context.Context, query string, args []any) (map[string]bool, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	taken := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		taken[name] = true
	}
	return taken, rows.Err()
}

func (t *jobTx) RenewLease(ctx context.Context, vault, cluster string, id int64, until time.Time, p jobs.Progress) (cancel, ok bool, err error) {
	err = t.tx.QueryRowContext(ctx, `UPDATE jobs SET lease_expires = $1, progress_items = $2, progress_bytes = $3, progress_message = $4
		WHERE vault = $5 AND id = $6 AND cluster = $7 AND state = $8 RETURNING cancel_requested`,
		until.UTC(), p.Items, p.Bytes, p.Message, vault, id, cluster, string(jobs.Running)).Scan(&cancel)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("record progress of job %d: %w", id, err)
	}
	return cancel, true, nil
}

func (t *jobTx) RequestCancel(ctx context.Context, vault string, id int64) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = TRUE WHERE vault = $1 AND id = $2 AND state = $3`,
		vault, id, string(jobs.Running))
	if err != nil {
		return false, fmt.Errorf("cancel job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (t *jobTx) FinishJob(ctx context.Context, vault string, id int64, from jobs.Guard, end jobs.End) (bool, error) {
	var result any // NULL: no result
	if end.Result != nil {
		result = string(end.Result)
	}
	query := `UPDATE jobs SET state = $1, error = $2, result = $3, finished_at = $4, lease_key = NULL, lease_expires = NULL
		WHERE vault = $5 AND id = $6 AND state = $7`
	args := []any{string(end.State), end.Error, result, end.At.UTC(), vault, id, string(from.State)}
	if !from.LeaseEndedBefore.IsZero() {
		query += ` AND lease_expires < $8`
		args = append(args, from.LeaseEndedBefore.UTC())
	}
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("end job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AppendLogs adds log lines to a job, numbering them after its last line.
func (t *jobTx) AppendLogs(ctx context.Context, id int64, lines []jobs.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	var seq int64
	if err := t.tx.QueryRowContext(ctx, `UPDATE jobs SET log_seq = log_seq + $1 WHERE id = $2 RETURNING log_seq`, len(lines), id).Scan(&seq); err != nil {
		return fmt.Errorf("number log lines of job %d: %w", id, err)
	}
	seq -= int64(len(lines))
	for _, l := range lines {
		seq++
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO job_logs (job, seq, at, level, message) VALUES ($1, $2, $3, $4, $5)`,
			id, seq, l.Time.UTC(), l.Level, l.Message); err != nil {
			return fmt.Errorf("store log line of job %d: %w", id, err)
		}
	}
	return nil
}
