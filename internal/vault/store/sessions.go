package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a Backup center sign-in as the database keeps it: ID is a hash of the secret the
// browser holds, and the API token is sealed under a key only that secret gives (package ui), so
// the database alone signs no one in.
type Session struct {
	ID          string
	Vault       string
	Name        string
	Role        string
	TokenSealed string
	// VaultsSealed holds every vault the session signed in to, their tokens with them, sealed like
	// TokenSealed; "" for a session of one vault.
	VaultsSealed string
	CSRF         string
	SSO          bool
	CreatedAt    time.Time
	LastSeen     time.Time
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss Session) error {
	if _, err := s.writes.ExecContext(ctx, `INSERT INTO sessions (id, vault, name, role, token_sealed, vaults_sealed, csrf, sso, created_at, last_seen)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, ss.ID, ss.Vault, ss.Name, ss.Role, ss.TokenSealed, ss.VaultsSealed, ss.CSRF, ss.SSO,
		ss.CreatedAt.UTC(), ss.LastSeen.UTC()); err != nil {
		return fmt.Errorf("store a sign-in session: %w", err)
	}
	return nil
}

// GetSession reads a session; ErrNotFound when there is none of that ID.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	ss := Session{ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT vault, name, role, token_sealed, vaults_sealed, csrf, sso, created_at, last_seen FROM sessions WHERE id = $1`, id).
		Scan(&ss.Vault, &ss.Name, &ss.Role, &ss.TokenSealed, &ss.VaultsSealed, &ss.CSRF, &ss.SSO, &ss.CreatedAt, &ss.LastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("sign-in session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("read a sign-in session: %w", err)
	}
	return ss, nil
}

// UpdateSession changes which vaults a session holds and which of them it shows: every column but
// its ID, CSRF token and times. ErrNotFound when the session has ended.
func (s *Store) UpdateSession(ctx context.Context, ss Session) error {
	res, err := s.writes.ExecContext(ctx, `UPDATE sessions SET vault = $1, name = $2, role = $3, token_sealed = $4, vaults_sealed = $5, sso = $6
		WHERE id = $7`, ss.Vault, ss.Name, ss.Role, ss.TokenSealed, ss.VaultsSealed, ss.SSO, ss.ID)
	if err != nil {
		return fmt.Errorf("change a sign-in session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("change a sign-in session: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sign-in session: %w", ErrNotFound)
	}
	return nil
}

// TouchSession records that the session was used at at.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.writes.ExecContext(ctx, `UPDATE sessions SET last_seen = $1 WHERE id = $2`, at.UTC(), id); err != nil {
		return fmt.Errorf("record a sign-in session's use: %w", err)
	}
	return nil
}

// DeleteSession ends a session (none of that ID is no error).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.writes.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("end a sign-in session: %w", err)
	}
	return nil
}

// PruneSessions deletes the sessions last used before before and returns how many.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.writes.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete idle sign-in sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete idle sign-in sessions: %w", err)
	}
	return n, nil
}

// ServerKey returns the key of that name every replica shares, stored by the first caller with
// the value newValue returns.
func (s *Store) ServerKey(ctx context.Context, name string, newValue func() (string, error)) (string, error) {
	candidate, err := newValue()
	if err != nil {
		return "", fmt.Errorf("make the %s key: %w", name, err)
	}
	if _, err := s.writes.ExecContext(ctx, `INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, candidate); err != nil {
		return "", fmt.Errorf("store the %s key: %w", name, err)
	}
	var value string
	if err := s.writes.QueryRowContext(ctx, `SELECT value FROM server_keys WHERE name = $1`, name).Scan(&value); err != nil {
		return "", fmt.Errorf("read the %s key: %w", name, err)
	}
	return value, nil
}
