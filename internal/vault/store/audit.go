package store

import (
	"context"
	"fmt"
	"time"
)

// AuditEntry records one call that changed something, or was refused.
type AuditEntry struct {
	ID        int64
	Time      time.Time
	Principal string
	Role      string
	Operation string
	Object    string
	Status    int
	Source    string // the address the call came from
}

// AppendAudit records one API call, at the store's time (e.ID and e.Time are ignored).
func (s *Store) AppendAudit(ctx context.Context, vault string, e AuditEntry) error {
	_, err := s.writes.ExecContext(ctx, `INSERT INTO audit (vault, at, principal, role, operation, object, status, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		vault, s.now().UTC(), e.Principal, e.Role, e.Operation, e.Object, e.Status, e.Source)
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// ListAudit returns the vault's audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, vault string, page Page) (List[AuditEntry], error) {
	out := List[AuditEntry]{Items: []AuditEntry{}}
	limit, before, err := page.bounds()
	if err != nil {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, principal, role, operation, object, status, source FROM audit
		WHERE vault = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, vault, before, limit)
	if err != nil {
		return out, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.Time, &e.Principal, &e.Role, &e.Operation, &e.Object, &e.Status, &e.Source); err != nil {
			return out, err
		}
		e.Time = e.Time.UTC()
		out.Items = append(out.Items, e)
	}
	if n := len(out.Items); n > 0 {
		out.Next = next(n, limit, out.Items[n-1].ID)
	}
	return out, rows.Err()
}

// PruneAudit deletes the audit entries of every vault recorded before before, and says how many.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.writes.ExecContext(ctx, `DELETE FROM audit WHERE at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("prune the audit log: %w", err)
	}
	return res.RowsAffected()
}

// Vaults lists every vault the database hosts (the scheduler walks them all).
func (s *Store) Vaults(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM vaults ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list vaults: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
