package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// SoftDeleteRecoveryPoint marks a recovery point deleted by a person: it is no longer listed,
// restored or kept by retention, and the scheduler purges it (a retention-delete job) once
// purgeAfter has passed and its storage lock has ended. Until then UndeleteRecoveryPoint brings
// it back. A point already soft-deleted or deleted is ErrNotFound.
func (s *Store) SoftDeleteRecoveryPoint(ctx context.Context, vault, name, by string, purgeAfter time.Time) (RecoveryPoint, error) {
	res, err := s.writes.ExecContext(ctx, `UPDATE recovery_points SET soft_deleted_at = $1, soft_deleted_by = $2, purge_after = $3
		WHERE vault = $4 AND name = $5 AND deleted_at IS NULL AND soft_deleted_at IS NULL`, s.now().UTC(), by, purgeAfter.UTC(), vault, name)
	if err != nil {
		return RecoveryPoint{}, fmt.Errorf("delete recovery point %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return RecoveryPoint{}, fmt.Errorf("recovery point %q (not deleted yet): %w", name, ErrNotFound)
	}
	return s.GetRecoveryPoint(ctx, vault, name)
}

// SoftDeleteInstanceRecoveryPoints soft-deletes every recovery point of the instance that is not
// deleted yet (SoftDeleteRecoveryPoint), and says how many.
func (s *Store) SoftDeleteInstanceRecoveryPoints(ctx context.Context, vault, instance, by string, purgeAfter time.Time) (int64, error) {
	res, err := s.writes.ExecContext(ctx, `UPDATE recovery_points SET soft_deleted_at = $1, soft_deleted_by = $2, purge_after = $3
		WHERE vault = $4 AND instance = $5 AND deleted_at IS NULL AND soft_deleted_at IS NULL`, s.now().UTC(), by, purgeAfter.UTC(), vault, instance)
	if err != nil {
		return 0, fmt.Errorf("delete the recovery points of instance %q: %w", instance, err)
	}
	return res.RowsAffected()
}

// UndeleteRecoveryPoint brings back a soft-deleted recovery point whose purge has not been
// queued. One not soft-deleted is ErrNotFound; one whose purge is queued or running is
// ErrConflict.
func (s *Store) UndeleteRecoveryPoint(ctx context.Context, vault, name string) (RecoveryPoint, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var instance string
		err := tx.QueryRowContext(ctx, `SELECT instance FROM recovery_points WHERE vault = $1 AND name = $2 AND deleted_at IS NULL
			AND soft_deleted_at IS NOT NULL`, vault, name).Scan(&instance)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("recovery point %q is not a deleted point the vault still keeps: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read recovery point %q: %w", name, err)
		}
		var purging int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE vault = $1 AND recovery_point = $2 AND kind = $3
			AND state IN ($4, $5)`, vault, name, string(jobs.KindRetentionDelete), string(jobs.Queued), string(jobs.Running)).Scan(&purging); err != nil {
			return fmt.Errorf("read the purge of recovery point %q: %w", name, err)
		}
		if purging > 0 {
			return fmt.Errorf("recovery point %q is being purged already: %w", name, ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE recovery_points SET soft_deleted_at = NULL, soft_deleted_by = '', purge_after = NULL
			WHERE vault = $1 AND name = $2`, vault, name)
		return err
	})
	if err != nil {
		return RecoveryPoint{}, err
	}
	return s.GetRecoveryPoint(ctx, vault, name)
}

// DuePurges returns the soft-deleted recovery points of the vault whose purge is due at now: past
// purgeAfter and no longer locked in storage.
func (s *Store) DuePurges(ctx context.Context, vault string, now time.Time) ([]RecoveryPoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recoveryPointColumns+` FROM recovery_points WHERE vault = $1 AND deleted_at IS NULL
		AND soft_deleted_at IS NOT NULL AND purge_after <= $2 AND (locked_until IS NULL OR locked_until <= $2) ORDER BY instance, seq`, vault, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("list the recovery points to purge: %w", err)
	}
	defer rows.Close()
	var out []RecoveryPoint
	for rows.Next() {
		rp, _, err := scanRecoveryPoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, rows.Err()
}
