package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// Errors callers turn into API statuses: the job life cycle's, which the store returns for every
// object.
var (
	ErrNotFound = jobs.ErrNotFound
	ErrExists   = jobs.ErrExists
	ErrConflict = jobs.ErrConflict // the object's state forbids the operation (HTTP 409)
	ErrInvalid  = jobs.ErrInvalid  // the request names something that does not exist or cannot be used (HTTP 422)
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the vault's database.
type Store struct {
	db *sql.DB // reads
	// writes is the pool every write goes through: db on PostgreSQL; on SQLite a pool of one
	// connection, so that writers queue in the process instead of in SQLite's busy handler,
	// which polls with back-off and let some of 50 agents completing jobs at once wait past any
	// busy timeout. A write transaction must use its own tx only: writes has no second
	// connection to lend it.
	writes  *sql.DB
	now     func() time.Time
	dialect dialect
}

// maxReadConns bounds the connections the store reads through: a burst of requests queues for
// them instead of opening connections (and, on SQLite, file handles) without end.
const maxReadConns = 16

// dialect is what differs between the SQL databases the store runs on.
type dialect struct {
	name string
	// autoID replaces the word AUTO_ID in migrations: an auto-incrementing integer primary key.
	autoID string
	// bytes replaces the word BYTES in migrations: a column of raw bytes.
	bytes string
	// lockMigrations, if set, runs first in every migration transaction and keeps other
	// processes from migrating the same database until it ends (PostgreSQL's advisory lock;
	// SQLite's single writer needs none).
	lockMigrations func(ctx context.Context, tx *sql.Tx) error
	// param is the placeholder of a statement's n-th parameter (from 1) where a statement is
	// made with every parameter in order (the multi-row INSERTs of the top of the hour).
	param func(n int) string
}

var sqliteDialect = dialect{name: "sqlite", autoID: "INTEGER PRIMARY KEY AUTOINCREMENT", bytes: "BLOB",
	// Anonymous: SQLite looks a named or numbered parameter ($1, ?1) up in a list when it prepares
	// the statement, and modernc's driver again when it binds it, so a statement's cost grows
	// with the square of its parameters (1,200 in an INSERT of 100 jobs).
	param: func(int) string { return "?" }}

// sqliteWriterCacheKiB is the page cache of the connection that writes a SQLite database.
const sqliteWriterCacheKiB = 32 << 10

// SQLiteFile, in the data dir, is the SQLite database.
const SQLiteFile = "vault.db"

// OpenSQLite opens (creating if needed) the SQLite database in dir and brings its schema up to
// date. now is the clock for created-at times.
func OpenSQLite(ctx context.Context, dir string, now func() time.Time) (*Store, error) {
	path := filepath.Join(dir, SQLiteFile)
	// WAL lets readers go on while the scheduler writes; the busy timeout rides out short locks.
	// Every transaction of the store writes, so it takes the write lock when it begins
	// (_txlock=immediate), waiting out the busy timeout: a transaction that read first and then
	// tried to write while another connection wrote would fail at once with SQLITE_BUSY (agents
	// completing jobs at the same time did).
	//
	// The one connection that writes keeps a larger page cache (its pages stay valid across its
	// own transactions): retention rewrites the expiries of a vault's points every tick, and with
	// SQLite's default 2 MiB cache the steady tick of 5,000 instances took twice as long.
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	writes, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-"+strconv.Itoa(sqliteWriterCacheKiB)+")")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writes.SetMaxOpenConns(1)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		writes.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxReadConns)
	s := &Store{db: db, writes: writes, now: now, dialect: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	// The database holds token hashes and notification secrets: its owner's alone, however it
	// was created (SQLite creates it, and its WAL, with the process's umask).
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Close()
			return nil, fmt.Errorf("make %s private: %w", f, err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.writes == s.db {
		return s.db.Close()
	}
	return errors.Join(s.writes.Close(), s.db.Close())
}

// inTx runs fn in a transaction, committed if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.writes.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// migrate applies the migrations the database has not seen, in order.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.beginMigration(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		if err := s.apply(ctx, name, version); err != nil {
			return err
		}
	}
	return nil
}

// beginMigration starts a migration transaction, holding the dialect's migration lock.
func (s *Store) beginMigration(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.writes.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin migration: %w", err)
	}
	if s.dialect.lockMigrations != nil {
		if err := s.dialect.lockMigrations(ctx, tx); err != nil {
			tx.Rollback() //nolint:errcheck // already failing
			return nil, err
		}
	}
	return tx, nil
}

func (s *Store) apply(ctx context.Context, name, version string) error {
	tx, err := s.beginMigration(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var seen int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&seen); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if seen > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	sqlText := strings.NewReplacer("AUTO_ID", s.dialect.autoID, "BYTES", s.dialect.bytes).Replace(string(body))
	for _, stmt := range strings.Split(sqlText, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, s.now().UTC()); err != nil {
		return fmt.Errorf("record migration %s: %w", version, err)
	}
	return tx.Commit()
}
