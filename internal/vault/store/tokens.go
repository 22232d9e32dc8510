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

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// tokenPrefix makes cairn tokens recognisable (in logs, secret scanners).
const tokenPrefix = "cairn_"

// CreateToken makes a new bearer token for name in the vault with the role and returns it; only
// its SHA-256 is stored, so it is shown once.
func (s *Store) CreateToken(ctx context.Context, vault, name, role string) (string, error) {
	if err := access.ValidUserRole(role); err != nil {
		return "", err
	}
	if name == "" {
		return "", errors.New("a token needs a name (who or what uses it)")
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO tokens (hash, vault, name, role, created_at) VALUES ($1, $2, $3, $4, $5)`,
		tokenHash(secret), vault, name, role, s.now().UTC())
	if err != nil && isUniqueViolation(err) {
		return "", fmt.Errorf("token %q: %w", name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("store token %q: %w", name, err)
	}
	return secret, nil
}

// LookupToken returns the principal of a bearer token (a user's, or a cluster's agent token with
// access.RoleAgent and the cluster as name), or ErrNotFound.
func (s *Store) LookupToken(ctx context.Context, secret string) (access.Principal, error) {
	var p access.Principal
	err := s.db.QueryRowContext(ctx, `SELECT vault, name, role FROM tokens WHERE hash = $1`, tokenHash(secret)).Scan(&p.Vault, &p.Name, &p.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return s.lookupAgentToken(ctx, secret)
	}
	if err != nil {
		return p, fmt.Errorf("look up token: %w", err)
	}
	return p, nil
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
