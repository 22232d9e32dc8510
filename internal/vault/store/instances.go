package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// InstanceProtected is the state of an instance whose schedule runs; a new instance starts in it.
const InstanceProtected = "protected"

// InstanceSpec is an instance to create. Its backup configuration and storage location are JSON,
// stored as given.
type InstanceSpec struct {
	Name    string
	Cluster string
	Policy  string
	Backup  json.RawMessage
	Storage json.RawMessage
	// RPO overrides the policy's recovery point objective (zero: the policy's).
	RPO policy.Duration
	// LockFor lengthens the policy's lock of the instance's recovery points (zero: the policy's).
	LockFor policy.Duration
}

// Instance is a backup instance.
type Instance struct {
	InstanceSpec
	State     string
	CreatedAt time.Time
	// LastScheduled is the time its schedule last ran, or when it was created or resumed.
	LastScheduled *time.Time
	// ScheduledBackups counts the scheduled backups queued for it; LastCopyAt is the run time of
	// the last of them that copied (nil: none). Its policy's copy tier chooses by them.
	ScheduledBackups int
	LastCopyAt       *time.Time
	// LastVerifyStructureAt is when the scheduler last queued a verification of either level of
	// its newest good recovery point, LastVerifyDataAt one of the data (nil: none yet). Its
	// policy's verification schedule is due by them.
	LastVerifyStructureAt *time.Time
	LastVerifyDataAt      *time.Time
	// LastTestRestoreAt is when the scheduler last queued a test restore of it (nil: none yet).
	LastTestRestoreAt *time.Time
}

// InstanceFilter narrows ListInstances; empty fields match everything.
type InstanceFilter struct {
	Cluster, Policy, State string
	NameContains           string // ListInstancesPage only: names that contain it, in any case
}

// CreateInstance stores a new backup instance in the protected state. Its cluster must be
// registered and not revoked and its policy must exist (else ErrInvalid); an instance of that
// name, or of the same cluster and policy, is ErrExists.
func (s *Store) CreateInstance(ctx context.Context, vault string, spec InstanceSpec) (Instance, error) {
	cl, err := s.GetCluster(ctx, vault, spec.Cluster)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, fmt.Errorf("cluster: %q is not registered with this vault (cairn cluster register): %w", spec.Cluster, ErrInvalid)
	}
	if err != nil {
		return Instance{}, err
	}
	if cl.Health == HealthRevoked {
		return Instance{}, fmt.Errorf("cluster: %q has its trust grant revoked; register it again first: %w", spec.Cluster, ErrInvalid)
	}
	pol, err := s.GetPolicy(ctx, vault, spec.Policy)
	if errors.Is(err, ErrNotFound) {
		return Instance{}, fmt.Errorf("policy: %q does not exist (cairn policy create): %w", spec.Policy, ErrInvalid)
	} else if err != nil {
		return Instance{}, err
	}
	if err := pol.ValidateRPO(spec.RPO); err != nil {
		return Instance{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if err := pol.ValidateLockFor(spec.LockFor); err != nil {
		return Instance{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO instances (vault, name, cluster, policy, backup_config, storage, state, created_at, rpo, lock_for)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		vault, spec.Name, spec.Cluster, spec.Policy, string(spec.Backup), string(spec.Storage), InstanceProtected, s.now().UTC(), spec.RPO.Optional(),
		spec.LockFor.Optional())
	if err != nil && isUniqueViolation(err) {
		if _, getErr := s.GetInstance(ctx, vault, spec.Name); getErr == nil {
			return Instance{}, fmt.Errorf("instance %q: %w", spec.Name, ErrExists)
		}
		return Instance{}, fmt.Errorf("cluster %q is already protected by an instance with policy %q (one instance per cluster and policy): %w",
			spec.Cluster, spec.Policy, ErrExists)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("store instance %q: %w", spec.Name, err)
	}
	return s.GetInstance(ctx, vault, spec.Name)
}

const instanceColumns = `name, cluster, policy, backup_config, storage, state, created_at, last_scheduled, scheduled_backups, last_copy_at, rpo,
	last_verify_structure_at, last_verify_data_at, last_test_restore_at, lock_for`

// GetInstance reads one instance.
func (s *Store) GetInstance(ctx context.Context, vault, name string) (Instance, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE vault = $1 AND name = $2`, vault, name)
	in, err := scanInstance(row)
	if errors.Is(err, sql.ErrNoRows) {
		return in, fmt.Errorf("instance %q: %w", name, ErrNotFound)
	}
	return in, err
}

// ListInstances returns the vault's instances by name.
func (s *Store) ListInstances(ctx context.Context, vault string, f InstanceFilter) ([]Instance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE vault = $1
		AND ($2 = '' OR cluster = $2) AND ($3 = '' OR policy = $3) AND ($4 = '' OR state = $4) ORDER BY name`,
		vault, f.Cluster, f.Policy, f.State)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	defer rows.Close()
	out := []Instance{}
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// likeEscaper makes a string match itself in a LIKE pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// ListInstancesPage returns one page of the vault's instances by name; the cursor is the last
// name of the page before, encoded.
func (s *Store) ListInstancesPage(ctx context.Context, vault string, f InstanceFilter, page Page) (List[Instance], error) {
	out := List[Instance]{Items: []Instance{}}
	limit := page.limit()
	after, err := page.afterName()
	if err != nil {
		return out, err
	}
	var c conditions
	c.add("vault = ?", vault)
	c.addIf("cluster = ?", f.Cluster)
	c.addIf("policy = ?", f.Policy)
	c.addIf("state = ?", f.State)
	if f.NameContains != "" {
		c.add(`LOWER(name) LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(strings.ToLower(f.NameContains))+"%")
	}
	c.addIf("name > ?", after)
	rows, err := s.db.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE `+c.where()+` ORDER BY name LIMIT `+c.param(limit), c.args...)
	if err != nil {
		return out, fmt.Errorf("list instances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, in)
	}
	if n := len(out.Items); n > 0 {
		out.Next = nextName(n, limit, out.Items[n-1].Name)
	}
	return out, rows.Err()
}

func scanInstance(row scanner) (Instance, error) {
	var in Instance
	var cfg, storage, rpo, lockFor string
	var last, lastCopy, lastStructure, lastData, lastTestRestore sql.NullTime
	if err := row.Scan(&in.Name, &in.Cluster, &in.Policy, &cfg, &storage, &in.State, &in.CreatedAt, &last, &in.ScheduledBackups, &lastCopy, &rpo,
		&lastStructure, &lastData, &lastTestRestore, &lockFor); err != nil {
		return in, err
	}
	var err error
	if in.RPO, err = policy.ParseOptionalDuration(rpo); err != nil {
		return in, fmt.Errorf("decode stored rpo of instance %q: %w", in.Name, err)
	}
	if in.LockFor, err = policy.ParseOptionalDuration(lockFor); err != nil {
		return in, fmt.Errorf("decode stored lock of instance %q: %w", in.Name, err)
	}
	in.CreatedAt = in.CreatedAt.UTC()
	in.LastScheduled = utcPtr(last)
	in.LastCopyAt = utcPtr(lastCopy)
	in.LastVerifyStructureAt = utcPtr(lastStructure)
	in.LastVerifyDataAt = utcPtr(lastData)
	in.LastTestRestoreAt = utcPtr(lastTestRestore)
	in.Backup, in.Storage = json.RawMessage(cfg), json.RawMessage(storage)
	return in, nil
}

// SetInstanceState moves an instance between protected, stopped and stopped-deleting-data. from
// lists the states it may be in; any other is ErrConflict.
func (s *Store) SetInstanceState(ctx context.Context, vault, name, state string, from ...string) (Instance, error) {
	in, err := s.GetInstance(ctx, vault, name)
	if err != nil {
		return in, err
	}
	allowed := false
	for _, f := range from {
		allowed = allowed || in.State == f
	}
	if !allowed {
		return in, fmt.Errorf("instance %q is %s: %w", name, in.State, ErrConflict)
	}
	if _, err := s.writes.ExecContext(ctx, `UPDATE instances SET state = $1 WHERE vault = $2 AND name = $3 AND state = $4`,
		state, vault, name, in.State); err != nil {
		return in, fmt.Errorf("set state of instance %q: %w", name, err)
	}
	return s.GetInstance(ctx, vault, name)
}

// SetLastScheduled records the time scheduling of the instance starts from: its last scheduled
// run, or when it was created or resumed.
func (s *Store) SetLastScheduled(ctx context.Context, vault, name string, at time.Time) error {
	return setLastScheduled(ctx, s.writes, vault, name, at)
}

// RecordScheduledRuns records each mark's time as its instance's last scheduled run where it is
// later than the one recorded, one UPDATE for the marks of one time and kind (at the top of the
// hour, all of them), and tells which marks it recorded. The condition is the fence between
// schedulers (docs/design/vault.md, "Replicas"): on PostgreSQL a second transaction recording the
// same runs waits for the first's row locks, then finds them recorded; SQLite has one writer.
func (t *jobTx) RecordScheduledRuns(ctx context.Context, vault string, marks []jobs.RunMark) ([]bool, error) {
	type group struct {
		at             time.Time
		queued, copies bool
	}
	var order []group
	byGroup := map[group]map[string]int{} // instance → its mark, the first of the group
	for i, m := range marks {
		g := group{at: m.At.UTC(), queued: m.Queued, copies: m.Copies}
		if byGroup[g] == nil {
			order = append(order, g)
			byGroup[g] = map[string]int{}
		}
		if _, dup := byGroup[g][m.Instance]; !dup {
			byGroup[g][m.Instance] = i
		}
	}
	recorded := make([]bool, len(marks))
	for _, g := range order {
		q := 0
		if g.queued {
			q = 1
		}
		var lastCopy any
		if g.copies {
			lastCopy = g.at
		}
		names := slices.Collect(maps.Keys(byGroup[g]))
		p := params{mark: t.dialect.param}
		query := `UPDATE instances SET last_scheduled = ` + p.param(g.at) + `, scheduled_backups = scheduled_backups + ` + p.param(q) +
			`, last_copy_at = COALESCE(` + p.param(lastCopy) + `, last_copy_at) WHERE vault = ` + p.param(vault) +
			` AND (last_scheduled IS NULL OR last_scheduled < ` + p.param(g.at) + `) AND name IN (` + p.list(names) + `) RETURNING name`
		rows, err := t.tx.QueryContext(ctx, query, p.args...)
		if err != nil {
			return nil, fmt.Errorf("record the schedule of %d instances: %w", len(names), err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record the schedule of %d instances: %w", len(names), err)
			}
			recorded[byGroup[g][name]] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("record the schedule of %d instances: %w", len(names), err)
		}
	}
	return recorded, nil
}

// RecordVerification records at as when the scheduler last queued a verification of the
// instance, of its data too when data is set (a data verification also checks the structure).
func (t *jobTx) RecordVerification(ctx context.Context, vault, instance string, at time.Time, data bool) error {
	var dataAt any
	if data {
		dataAt = at.UTC()
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE instances SET last_verify_structure_at = $1, last_verify_data_at = COALESCE($2, last_verify_data_at)
		WHERE vault = $3 AND name = $4`, at.UTC(), dataAt, vault, instance); err != nil {
		return fmt.Errorf("record verification of instance %q: %w", instance, err)
	}
	return nil
}

// RecordTestRestore records at as when the scheduler last queued a test restore of the instance.
func (t *jobTx) RecordTestRestore(ctx context.Context, vault, instance string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE instances SET last_test_restore_at = $1 WHERE vault = $2 AND name = $3`,
		at.UTC(), vault, instance); err != nil {
		return fmt.Errorf("record test restore of instance %q: %w", instance, err)
	}
	return nil
}

// execer is what a write needs of a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func setLastScheduled(ctx context.Context, ex execer, vault, name string, at time.Time) error {
	if _, err := ex.ExecContext(ctx, `UPDATE instances SET last_scheduled = $1 WHERE vault = $2 AND name = $3`, at.UTC(), vault, name); err != nil {
		return fmt.Errorf("record schedule of instance %q: %w", name, err)
	}
	return nil
}

// DeleteInstance removes a stopped instance that has no recovery point and no unfinished job left
// but validations, which touch no recovery point: its queued ones are cancelled with it.
func (s *Store) DeleteInstance(ctx context.Context, vault, name string) error {
	in, err := s.GetInstance(ctx, vault, name)
	if err != nil {
		return err
	}
	if in.State == InstanceProtected {
		return fmt.Errorf("instance %q is protected: stop it first (cairn instance stop, with --delete-data to remove its backups): %w", name, ErrConflict)
	}
	var points, open int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_points WHERE vault = $1 AND instance = $2 AND deleted_at IS NULL`,
		vault, name).Scan(&points); err != nil {
		return fmt.Errorf("count recovery points of instance %q: %w", name, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE vault = $1 AND instance = $2 AND state IN ('queued', 'running') AND kind <> $3`,
		vault, name, string(jobs.KindValidate)).Scan(&open); err != nil {
		return fmt.Errorf("count jobs of instance %q: %w", name, err)
	}
	if points > 0 || open > 0 {
		return fmt.Errorf("instance %q still has %d recovery point(s) and %d unfinished job(s): stop it with --delete-data and wait for the deletions "+
			"(deleted points are kept for the vault's soft-delete days, and locked ones until their lock ends, before they are purged): %w",
			name, points, open, ErrConflict)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_key = NULL
			WHERE vault = $4 AND instance = $5 AND kind = $6 AND state = 'queued'`,
			string(jobs.Cancelled), "cancelled: its instance was deleted", s.now().UTC(), vault, name, string(jobs.KindValidate)); err != nil {
			return fmt.Errorf("cancel the validations of instance %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE vault = $1 AND name = $2`, vault, name); err != nil {
			return fmt.Errorf("delete instance %q: %w", name, err)
		}
		return nil
	})
}

// InstancesUsingPolicy names the instances with the policy.
func (s *Store) InstancesUsingPolicy(ctx context.Context, vault, policy string) ([]string, error) {
	in, err := s.ListInstances(ctx, vault, InstanceFilter{Policy: policy})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(in))
	for i := range in {
		names[i] = in[i].Name
	}
	return names, nil
}
