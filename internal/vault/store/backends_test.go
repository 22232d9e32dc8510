package store

import (
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/pgtest"
)

// eachBackend runs fn as the subtests "sqlite" and "postgres", each on a fresh, migrated store
// that is closed when the subtest ends. The PostgreSQL one is a new database on the test binary's
// shared server (pgtest.StartShared); without PostgreSQL installed that subtest is skipped (it
// fails under CI=true).
func eachBackend(t *testing.T, fn func(t *testing.T, st *Store)) {
	t.Helper()
	eachBackendReopen(t, func(t *testing.T, open func() *Store) { fn(t, open()) })
}

// eachBackendReopen is eachBackend for tests that close a store and open it again on the same
// database: every open() is a new *Store on the subtest's database, closed when the subtest ends
// (closing it earlier is fine).
func eachBackendReopen(t *testing.T, fn func(t *testing.T, open func() *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func() *Store {
			t.Helper()
			st, err := OpenSQLite(t.Context(), dir, fixedClock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.StartShared(t)
		fn(t, func() *Store {
			t.Helper()
			st, err := OpenPostgres(t.Context(), dsn, fixedClock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// migrationCount is how many migrations the store has.
func migrationCount(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations (%v)", err)
	}
	return len(names)
}

// TestPortableSQL pins the SQL rules migrations and queries follow (docs/design/vault.md,
// "Persistence"): what works here works on both databases.
func TestPortableSQL(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		ddl := strings.ReplaceAll(`
			CREATE TABLE probe (
				id    AUTO_ID,
				name  TEXT NOT NULL,
				state TEXT NOT NULL,
				at    TIMESTAMP NOT NULL,
				done  BOOLEAN NOT NULL DEFAULT FALSE,
				note  TEXT,
				big   BIGINT,
				small INTEGER,
				ratio DOUBLE PRECISION,
				seen  TIMESTAMP
			);
			CREATE UNIQUE INDEX probe_one_running ON probe (name) WHERE state = 'running';
			CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`, "AUTO_ID", st.dialect.autoID)
		for stmt := range strings.SplitSeq(ddl, ";") {
			if _, err := st.db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}

		// AUTO_ID: the new key comes back with RETURNING (pgx has no LastInsertId).
		// PostgreSQL keeps microseconds: times truncated to them round-trip exactly.
		at := time.Date(2026, 11, 25, 8, 30, 15, 123456000, time.UTC)
		var id1, id2 int64
		insert := `INSERT INTO probe (name, state, at, done, note, big, small, ratio, seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`
		if err := st.db.QueryRowContext(ctx, insert, "a", "running", at, true, nil, nil, nil, nil, nil).Scan(&id1); err != nil {
			t.Fatalf("insert with NULLs: %v", err)
		}
		if err := st.db.QueryRowContext(ctx, insert, "b", "done", at.Add(time.Second), false, `{"k":"ä"}`, int64(1)<<40, 7, 0.25, at).Scan(&id2); err != nil {
			t.Fatalf("insert: %v", err)
		}
		if id1 != 1 || id2 != 2 {
			t.Errorf("AUTO_ID gave %d, %d; want 1, 2", id1, id2)
		}

		// A TIMESTAMP column scans into time.Time; NULLs into sql.Null* (and pointers).
		var (
			gotAt   time.Time
			done    bool
			note    sql.NullString
			big     sql.NullInt64
			small   *int
			ratio   sql.NullFloat64
			seen    sql.NullTime
			seenPtr *time.Time
		)
		row := st.db.QueryRowContext(ctx, `SELECT at, done, note, big, small, ratio, seen, seen FROM probe WHERE id = $1`, id1)
		if err := row.Scan(&gotAt, &done, &note, &big, &small, &ratio, &seen, &seenPtr); err != nil {
			t.Fatalf("scan NULLs: %v", err)
		}
		if !gotAt.Equal(at) || !done || note.Valid || big.Valid || small != nil || ratio.Valid || seen.Valid || seenPtr != nil {
			t.Errorf("row with NULLs read back as at=%v done=%v note=%v big=%v small=%v ratio=%v seen=%v/%v", gotAt, done, note, big, small, ratio, seen, seenPtr)
		}
		row = st.db.QueryRowContext(ctx, `SELECT at, done, note, big, small, ratio, seen FROM probe WHERE id = $1`, id2)
		if err := row.Scan(&gotAt, &done, &note, &big, &small, &ratio, &seen); err != nil {
			t.Fatalf("scan values: %v", err)
		}
		if !gotAt.Equal(at.Add(time.Second)) || done || note.String != `{"k":"ä"}` || big.Int64 != 1<<40 || small == nil || *small != 7 || ratio.Float64 != 0.25 || !seen.Time.Equal(at) {
			t.Errorf("row read back as at=%v done=%v note=%v big=%v small=%v ratio=%v seen=%v", gotAt, done, note, big, small, ratio, seen)
		}

		// Bools and times as parameters; numbered placeholders bind by number, not by order of
		// appearance, and may repeat.
		var name string
		if err := st.db.QueryRowContext(ctx, `SELECT name FROM probe WHERE done = $2 AND at > $1 AND seen >= $1`, at, false).Scan(&name); err != nil || name != "b" {
			t.Errorf("bool and time parameters, $2 before $1: %q %v", name, err)
		}
		var n int
		if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM probe WHERE done`).Scan(&n); err != nil || n != 1 {
			t.Errorf("a bare BOOLEAN condition: %d %v", n, err)
		}

		// The partial unique index: one running row per name; ON CONFLICT names it with its WHERE.
		_, err := st.db.ExecContext(ctx, `INSERT INTO probe (name, state, at) VALUES ($1, 'running', $2)`, "a", at)
		if err == nil || !isUniqueViolation(err) {
			t.Errorf("a second running row: %v, want a unique violation", err)
		}
		res, err := st.db.ExecContext(ctx, `INSERT INTO probe (name, state, at) VALUES ($1, 'running', $2) ON CONFLICT (name) WHERE state = 'running' DO NOTHING`, "a", at)
		if err != nil {
			t.Fatalf("ON CONFLICT ... DO NOTHING: %v", err)
		}
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("ON CONFLICT ... DO NOTHING inserted %d rows", n)
		}
		if _, err := st.db.ExecContext(ctx, `INSERT INTO probe (name, state, at) VALUES ($1, 'done', $2)`, "a", at); err != nil {
			t.Errorf("a finished row beside the running one: %v", err)
		}

		// Upsert.
		for _, v := range []string{"one", "two"} {
			if _, err := st.db.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, "key", v); err != nil {
				t.Fatalf("ON CONFLICT ... DO UPDATE: %v", err)
			}
		}
		var v string
		if err := st.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, "key").Scan(&v); err != nil || v != "two" {
			t.Errorf("upserted value %q %v", v, err)
		}

		// UPDATE ... RETURNING, times included.
		var upd time.Time
		err = st.db.QueryRowContext(ctx, `UPDATE probe SET state = 'done', done = $1 WHERE id = $2 RETURNING name, at`, true, id1).Scan(&name, &upd)
		if err != nil || name != "a" || !upd.Equal(at) {
			t.Errorf("UPDATE ... RETURNING: %q %v %v", name, upd, err)
		}
		err = st.db.QueryRowContext(ctx, `UPDATE probe SET state = 'x' WHERE id = $1 RETURNING id`, 999).Scan(&id1)
		if !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("UPDATE ... RETURNING of no row: %v, want sql.ErrNoRows", err)
		}
	})
}

func TestPostgresMigrationsRaceOnce(t *testing.T) {
	for round := range 3 {
		dsn := pgtest.StartShared(t)
		var wg sync.WaitGroup
		stores := make([]*Store, 2)
		errs := make([]error, 2)
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = OpenPostgres(t.Context(), dsn, fixedClock) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: vault %d failed to start: %v", round, i, err)
			}
			defer stores[i].Close()
		}
		var applied, distinct int
		err := stores[0].db.QueryRowContext(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct)
		if err != nil || applied != migrationCount(t) || distinct != applied {
			t.Fatalf("round %d: %d migrations recorded (%d distinct), want %d once each (%v)", round, applied, distinct, migrationCount(t), err)
		}
	}
}

func TestOpenChoosesTheDatabase(t *testing.T) {
	ctx := t.Context()
	for _, database := range []string{"mysql://x", "mysql://root:hunter2@db:3306/vault", "vault.db", "postgres:/x"} {
		st, err := Open(ctx, database, t.TempDir(), fixedClock)
		if err == nil {
			st.Close()
			t.Fatalf("%q was accepted", database)
		}
		if !strings.Contains(err.Error(), "postgres://") || !strings.Contains(err.Error(), "empty") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: %v", database, err)
		}
	}
	st, err := Open(ctx, "", t.TempDir(), fixedClock)
	if err != nil || st.dialect.name != "sqlite" {
		t.Fatalf("the default: %v", err)
	}
	st.Close()

	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.StartShared(t)
		for _, u := range []string{dsn, "postgresql://" + strings.TrimPrefix(dsn, "postgres://")} {
			st, err := Open(ctx, u, "", fixedClock)
			if err != nil || st.dialect.name != "postgres" {
				t.Fatalf("%s: %v", u, err)
			}
			st.Close()
		}
	})
}

func TestOpenPostgresErrorsNameTheHostNotThePassword(t *testing.T) {
	// Port 1 on the loopback refuses at once.
	_, err := OpenPostgres(t.Context(), "postgres://vault:hunter2@127.0.0.1:1/cairn?sslmode=disable&connect_timeout=5", fixedClock)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("unreachable server: %v", err)
	}
	t.Log(err)
	for _, dsn := range []string{"postgres://vault:hunter2@127.0.0.1:notaport/cairn", "host=127.0.0.1 password=hunter2 port=notaport"} {
		_, err = OpenPostgres(t.Context(), dsn, fixedClock)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("malformed URL: %v", err)
		}
	}
}
