package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotSQLite means an operation only a SQLite database offers was asked of PostgreSQL.
var ErrNotSQLite = errors.New("only a SQLite database can be copied by the vault; back PostgreSQL up with its own tools")

// CopyTo writes a consistent copy of the SQLite database to path, which must not exist (SQLite's
// VACUUM INTO: an online backup that neither readers nor writers wait for).
func (s *Store) CopyTo(ctx context.Context, path string) error {
	if s.dialect.name != sqliteDialect.name {
		return ErrNotSQLite
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("copy the database to %s: %w", path, err)
	}
	return nil
}

// SchemaVersion is the number of the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var newest string
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&newest); err != nil {
		return 0, fmt.Errorf("read schema_migrations: %w", err)
	}
	n, err := strconv.Atoi(strings.SplitN(newest, "_", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("schema_migrations: newest version %q has no number: %w", newest, err)
	}
	return n, nil
}
