package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/internal/policy"
)

// EnsureVault creates the vault if it does not exist.
func (s *Store) EnsureVault(ctx context.Context, vault string) error {
	_, err := s.writes.ExecContext(ctx, `INSERT INTO vaults (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, vault, s.now().UTC())
	if err != nil {
		return fmt.Errorf("create vault %q: %w", vault, err)
	}
	return nil
}

// CreatePolicy stores a new policy; it must be valid (policy.Validate) and its name unused.
func (s *Store) CreatePolicy(ctx context.Context, vault string, p policy.Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	sched, err := json.Marshal(p.Schedule)
	if err != nil {
		return fmt.Errorf("encode schedule: %w", err)
	}
	ret, err := json.Marshal(p.Retention)
	if err != nil {
		return fmt.Errorf("encode retention: %w", err)
	}
	var copyTier, verify, testRestore []byte
	if p.Copy != nil {
		if copyTier, err = json.Marshal(p.Copy); err != nil {
			return fmt.Errorf("encode copy tier: %w", err)
		}
	}
	if p.Verify != nil {
		if verify, err = json.Marshal(p.Verify); err != nil {
			return fmt.Errorf("encode verification schedule: %w", err)
		}
	}
	if p.TestRestore != nil {
		if testRestore, err = json.Marshal(p.TestRestore); err != nil {
			return fmt.Errorf("encode test restores: %w", err)
		}
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO policies (vault, name, schedule, retention, copy_tier, rpo, verify, test_restore, created_at, lock_for)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		vault, p.Name, string(sched), string(ret), string(copyTier), p.RPO.Optional(), string(verify), string(testRestore), s.now().UTC(), p.LockFor.Optional())
	if err != nil && isUniqueViolation(err) {
		return fmt.Errorf("policy %q: %w", p.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store policy %q: %w", p.Name, err)
	}
	return nil
}

// GetPolicy reads one policy.
func (s *Store) GetPolicy(ctx context.Context, vault, name string) (policy.Policy, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE vault = $1 AND name = $2`, vault, name)
	p, err := scanPolicy(row)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("policy %q: %w", name, ErrNotFound)
	}
	return p, err
}

// ListPolicies returns the vault's policies by name.
func (s *Store) ListPolicies(ctx context.Context, vault string) ([]policy.Policy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE vault = $1 ORDER BY name`, vault)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []policy.Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePolicy removes a policy no instance uses.
func (s *Store) DeletePolicy(ctx context.Context, vault, name string) error {
	users, err := s.InstancesUsingPolicy(ctx, vault, name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("policy %q is used by instance(s) %s: %w", name, strings.Join(users, ", "), ErrConflict)
	}
	res, err := s.writes.ExecContext(ctx, `DELETE FROM policies WHERE vault = $1 AND name = $2`, vault, name)
	if err != nil {
		return fmt.Errorf("delete policy %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("policy %q: %w", name, ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(...any) error }

const policyColumns = `name, schedule, retention, copy_tier, rpo, verify, test_restore, lock_for`

func scanPolicy(row scanner) (policy.Policy, error) {
	var p policy.Policy
	var sched, ret, copyTier, rpo, verify, testRestore, lockFor string
	if err := row.Scan(&p.Name, &sched, &ret, &copyTier, &rpo, &verify, &testRestore, &lockFor); err != nil {
		return p, err
	}
	if testRestore != "" {
		p.TestRestore = &policy.TestRestore{}
		if err := json.Unmarshal([]byte(testRestore), p.TestRestore); err != nil {
			return p, fmt.Errorf("decode stored test restores of policy %q: %w", p.Name, err)
		}
	}
	if verify != "" {
		p.Verify = &policy.VerifySchedule{}
		if err := json.Unmarshal([]byte(verify), p.Verify); err != nil {
			return p, fmt.Errorf("decode stored verification schedule of policy %q: %w", p.Name, err)
		}
	}
	var err error
	if p.RPO, err = policy.ParseOptionalDuration(rpo); err != nil {
		return p, fmt.Errorf("decode stored rpo of policy %q: %w", p.Name, err)
	}
	if p.LockFor, err = policy.ParseOptionalDuration(lockFor); err != nil {
		return p, fmt.Errorf("decode stored lock of policy %q: %w", p.Name, err)
	}
	if copyTier != "" {
		p.Copy = &policy.CopyTier{}
		if err := json.Unmarshal([]byte(copyTier), p.Copy); err != nil {
			return p, fmt.Errorf("decode stored copy tier of policy %q: %w", p.Name, err)
		}
	}
	if err := json.Unmarshal([]byte(sched), &p.Schedule); err != nil {
		return p, fmt.Errorf("decode stored schedule of policy %q: %w", p.Name, err)
	}
	if err := json.Unmarshal([]byte(ret), &p.Retention); err != nil {
		return p, fmt.Errorf("decode stored retention of policy %q: %w", p.Name, err)
	}
	return p, nil
}

// isUniqueViolation recognises a primary-key or unique conflict in SQLite's and PostgreSQL's words.
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}
