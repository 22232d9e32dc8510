package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Open opens the vault's database as the --database flag names it: empty for SQLite in dataDir,
// or a postgres:// or postgresql:// URL for PostgreSQL.
func Open(ctx context.Context, database, dataDir string, now func() time.Time) (*Store, error) {
	switch {
	case database == "":
		return OpenSQLite(ctx, dataDir, now)
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return OpenPostgres(ctx, database, now)
	}
	// Only the scheme is repeated: the rest may hold a password.
	scheme, _, found := strings.Cut(database, "://")
	if !found {
		scheme = "a value without a scheme"
	} else {
		scheme = fmt.Sprintf("%q", scheme+"://")
	}
	return nil, fmt.Errorf("unsupported database %s: use postgres://user:password@host:5432/database (or postgresql://...) for PostgreSQL, or leave it empty for SQLite in the data directory", scheme)
}
