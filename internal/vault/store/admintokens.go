package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// CreateAdminToken makes a token of the server's administrator (it belongs to no vault) and
// returns its secret, shown once. spec.Role is ignored; spec.ExpiresAt is required.
func (s *Store) CreateAdminToken(ctx context.Context, spec TokenSpec) (string, error) {
	if err := access.ValidTokenName(spec.Name); err != nil {
		return "", err
	}
	if spec.ExpiresAt.IsZero() {
		return "", errors.New("an administrator's token needs an expiry")
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO admin_tokens (hash, name, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		tokenHash(secret), spec.Name, spec.CreatedBy, s.now().UTC(), spec.ExpiresAt.UTC())
	if err != nil && isUniqueViolation(err) {
		return "", fmt.Errorf("administrator token %q: %w", spec.Name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("create administrator token: %w", err)
	}
	return secret, nil
}

// CountAdminTokens counts the administrator's tokens, expired ones included.
func (s *Store) CountAdminTokens(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count administrator tokens: %w", err)
	}
	return n, nil
}

// lookupAdminToken is LookupToken's last place to look: the administrator's tokens.
func (s *Store) lookupAdminToken(ctx context.Context, secret string) (access.Principal, error) {
	p := access.Principal{Role: access.RoleAdmin}
	var expires sql.NullTime
	var used sql.NullTime
	hash := tokenHash(secret)
	err := s.db.QueryRowContext(ctx, `SELECT name, expires_at, last_used_at FROM admin_tokens WHERE hash = $1`, hash).Scan(&p.Name, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return access.Principal{}, ErrNotFound
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("look up administrator token: %w", err)
	}
	now := s.now().UTC()
	if expires.Valid && !now.Before(expires.Time) {
		return p, &TokenExpiredError{Principal: p, ExpiredAt: expires.Time}
	}
	if !used.Valid || now.Sub(used.Time) >= lastUsedGranularity {
		if _, err := s.writes.ExecContext(ctx, `UPDATE admin_tokens SET last_used_at = $1 WHERE hash = $2`, now, hash); err != nil {
			return p, fmt.Errorf("record the token's use: %w", err)
		}
	}
	return p, nil
}
