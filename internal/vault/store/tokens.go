package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// tokenPrefix makes cairn tokens recognisable (in logs, secret scanners).
const tokenPrefix = "cairn_"

// Kinds of user tokens.
const (
	TokenKindToken = "token" // made by a contributor (or the server's first start) for a person or automation
	TokenKindSSO   = "sso"   // minted by the vault for a single sign-on
)

// lastUsedGranularity is how stale a token's last use may get before a lookup writes it: a
// busy token costs one write a minute, not one per call.
const lastUsedGranularity = time.Minute

// TokenSpec is a token to make.
type TokenSpec struct {
	Name string
	Role string
	// Kind is TokenKindToken (the default) or TokenKindSSO.
	Kind string
	// CreatedBy names the principal that made it ("" for the server itself).
	CreatedBy string
	// ExpiresAt is when it stops working; zero means never.
	ExpiresAt time.Time
}

// Token is what the vault knows of a token: everything but its secret.
type Token struct {
	Name       string
	Role       string
	Kind       string
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// TokenExpiredError is a lookup of a token past its expiry: the token is known, so the
// refusal can say whose it was and when it ended.
type TokenExpiredError struct {
	Principal access.Principal
	ExpiredAt time.Time
}

func (e *TokenExpiredError) Error() string {
	return fmt.Sprintf("token %q expired at %s", e.Principal.Name, e.ExpiredAt.UTC().Format(time.RFC3339))
}

// CreateToken makes a new bearer token in the vault and returns it; only its SHA-256 is stored,
// so it is shown once.
func (s *Store) CreateToken(ctx context.Context, vault string, spec TokenSpec) (string, error) {
	if err := access.ValidUserRole(spec.Role); err != nil {
		return "", err
	}
	if spec.Kind == "" {
		spec.Kind = TokenKindToken
	}
	if spec.Kind == TokenKindToken {
		if err := access.ValidTokenName(spec.Name); err != nil {
			return "", err
		}
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	var expires sql.NullTime
	if !spec.ExpiresAt.IsZero() {
		expires = sql.NullTime{Time: spec.ExpiresAt.UTC(), Valid: true}
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO tokens (hash, vault, name, role, created_at, kind, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tokenHash(secret), vault, spec.Name, spec.Role, s.now().UTC(), spec.Kind, spec.CreatedBy, expires)
	if err != nil && isUniqueViolation(err) {
		return "", fmt.Errorf("token %q: %w", spec.Name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("store token %q: %w", spec.Name, err)
	}
	return secret, nil
}

// LookupToken returns the principal of a bearer token (a user's, or a cluster's agent token with
// access.RoleAgent and the cluster as name), ErrNotFound, or a *TokenExpiredError. It records
// the token's use.
func (s *Store) LookupToken(ctx context.Context, secret string) (access.Principal, error) {
	var p access.Principal
	var expires, used sql.NullTime
	hash := tokenHash(secret)
	err := s.db.QueryRowContext(ctx, `SELECT vault, name, role, expires_at, last_used_at FROM tokens WHERE hash = $1`, hash).
		Scan(&p.Vault, &p.Name, &p.Role, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return s.lookupAgentToken(ctx, secret)
	}
	if err != nil {
		return p, fmt.Errorf("look up token: %w", err)
	}
	now := s.now().UTC()
	if expires.Valid && !now.Before(expires.Time) {
		return p, &TokenExpiredError{Principal: p, ExpiredAt: expires.Time}
	}
	if !used.Valid || now.Sub(used.Time) >= lastUsedGranularity {
		if _, err := s.writes.ExecContext(ctx, `UPDATE tokens SET last_used_at = $1 WHERE hash = $2`, now, hash); err != nil {
			return p, fmt.Errorf("record the token's use: %w", err)
		}
	}
	return p, nil
}

// ListTokens returns the vault's tokens by name, expired ones included.
func (s *Store) ListTokens(ctx context.Context, vault string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role, kind, created_by, created_at, expires_at, last_used_at
		FROM tokens WHERE vault = $1 ORDER BY name`, vault)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var expires, used sql.NullTime
		if err := rows.Scan(&t.Name, &t.Role, &t.Kind, &t.CreatedBy, &t.CreatedAt, &expires, &used); err != nil {
			return nil, err
		}
		t.CreatedAt = t.CreatedAt.UTC()
		t.ExpiresAt, t.LastUsedAt = utcPtr(expires), utcPtr(used)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes a token: its next call is refused. The vault's last contributor token
// that still works is kept (ErrConflict): without it nobody could make tokens again but from the
// server's host.
func (s *Store) RevokeToken(ctx context.Context, vault, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM tokens WHERE vault = $1 AND name = $2`, vault, name).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read token %q: %w", name, err)
		}
		if role == access.RoleContributor {
			var others int
			err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE vault = $1 AND name <> $2 AND role = $3
				AND (expires_at IS NULL OR expires_at > $4)`, vault, name, access.RoleContributor, s.now().UTC()).Scan(&others)
			if err != nil {
				return fmt.Errorf("count contributor tokens: %w", err)
			}
			if others == 0 {
				return fmt.Errorf("token %q is the vault's last working contributor token: make another contributor token first (or, from the server's host, cairn vault issue-token): %w", name, ErrConflict)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE vault = $1 AND name = $2`, vault, name); err != nil {
			return fmt.Errorf("revoke token %q: %w", name, err)
		}
		return nil
	})
}

// CountTokens is how many tokens the vault has (zero on a fresh vault: the server then makes the
// first contributor token).
func (s *Store) CountTokens(ctx context.Context, vault string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE vault = $1`, vault).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// newSecret makes a random bearer token.
func newSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
