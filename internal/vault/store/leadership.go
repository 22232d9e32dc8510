package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lead takes or keeps the leadership of role for holder until until: it succeeds when no replica
// holds it, holder does, or the holder's lease ended before now. term counts the holders the role
// has had; it grows when the holder changes. ok is false when another replica holds the role.
func (s *Store) Lead(ctx context.Context, role, holder string, now, until time.Time) (term int64, ok bool, err error) {
	err = s.writes.QueryRowContext(ctx, `INSERT INTO leadership (role, holder, term, expires_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			term = CASE WHEN leadership.holder = excluded.holder THEN leadership.term ELSE leadership.term + 1 END
		WHERE leadership.holder = excluded.holder OR leadership.expires_at < $4
		RETURNING term`, role, holder, until.UTC(), now.UTC()).Scan(&term)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("take the %s leadership: %w", role, err)
	}
	return term, true, nil
}

// StepDown gives up holder's leadership of role, so that another replica takes it at its next
// try instead of waiting for the lease to end.
func (s *Store) StepDown(ctx context.Context, role, holder string) error {
	// The lease ends in the past rather than the row going, so that the term keeps counting.
	if _, err := s.writes.ExecContext(ctx, `UPDATE leadership SET expires_at = $3 WHERE role = $1 AND holder = $2`,
		role, holder, time.Unix(0, 0).UTC()); err != nil {
		return fmt.Errorf("give up the %s leadership: %w", role, err)
	}
	return nil
}
