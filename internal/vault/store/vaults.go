package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// VaultSummary is a vault as its server's administrator sees it: its name and how much it holds.
type VaultSummary struct {
	Name           string
	CreatedAt      time.Time
	Clusters       int // registered and not revoked
	Instances      int
	RecoveryPoints int // live: not deleted
	Tokens         int
}

// vaultTables are the tables whose rows belong to a vault (column vault), in the order deleting
// a vault deletes them: those that refer to others first, vaults last.
var vaultTables = []string{
	"approvals", "audit", "deliveries", "events", "fetched_file_parts", "fetched_files", "sessions",
	"notification_rules", "recovery_points", "jobs", "instances", "tokens", "clusters", "policies",
}

// CreateVault makes an empty vault; ErrExists if the name is taken.
func (s *Store) CreateVault(ctx context.Context, name string) error {
	if err := access.ValidVaultName(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	_, err := s.writes.ExecContext(ctx, `INSERT INTO vaults (name, created_at) VALUES ($1, $2)`, name, s.now().UTC())
	if err != nil && isUniqueViolation(err) {
		return fmt.Errorf("vault %q: %w", name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create vault %q: %w", name, err)
	}
	return nil
}

// ListVaults returns every vault with its counts, by name.
func (s *Store) ListVaults(ctx context.Context) ([]VaultSummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT v.name, v.created_at,
		(SELECT COUNT(*) FROM clusters c WHERE c.vault = v.name AND c.revoked_at IS NULL),
		(SELECT COUNT(*) FROM instances i WHERE i.vault = v.name),
		(SELECT COUNT(*) FROM recovery_points r WHERE r.vault = v.name AND r.deleted_at IS NULL),
		(SELECT COUNT(*) FROM tokens t WHERE t.vault = v.name)
		FROM vaults v ORDER BY v.name`)
	if err != nil {
		return nil, fmt.Errorf("list vaults: %w", err)
	}
	defer rows.Close()
	out := []VaultSummary{}
	for rows.Next() {
		var v VaultSummary
		if err := rows.Scan(&v.Name, &v.CreatedAt, &v.Clusters, &v.Instances, &v.RecoveryPoints, &v.Tokens); err != nil {
			return nil, fmt.Errorf("list vaults: %w", err)
		}
		v.CreatedAt = v.CreatedAt.UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteVault removes a vault and everything it holds. It refuses, with ErrConflict naming what
// is left, a vault that still has instances or clusters not revoked: their data in storage is
// deleted through them, never by dropping rows. ErrNotFound if there is no such vault.
func (s *Store) DeleteVault(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var instances, clusters int
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM instances WHERE vault = $1),
			(SELECT COUNT(*) FROM clusters WHERE vault = $1 AND revoked_at IS NULL)
			FROM vaults WHERE name = $1`, name).Scan(&instances, &clusters)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("vault %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete vault %q: %w", name, err)
		}
		var left []string
		if instances > 0 {
			left = append(left, fmt.Sprintf("%d instance(s): cairn instance delete (with --delete-data to delete their recovery points)", instances))
		}
		if clusters > 0 {
			left = append(left, fmt.Sprintf("%d registered cluster(s): cairn cluster revoke", clusters))
		}
		if len(left) > 0 {
			return fmt.Errorf("vault %q still holds %s, with a token of the vault: %w", name, strings.Join(left, "; and "), ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM job_logs WHERE job IN (SELECT id FROM jobs WHERE vault = $1)`, name); err != nil {
			return fmt.Errorf("delete vault %q: job logs: %w", name, err)
		}
		for _, table := range vaultTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE vault = $1`, name); err != nil {
				return fmt.Errorf("delete vault %q: %s: %w", name, table, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vaults WHERE name = $1`, name); err != nil {
			return fmt.Errorf("delete vault %q: %w", name, err)
		}
		return nil
	})
}
