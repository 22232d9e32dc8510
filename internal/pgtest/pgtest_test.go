package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestStartedServerIsConfiguredForTests(t *testing.T) {
	var data string
	t.Cleanup(func() {
		// Runs after Start's cleanup (cleanups run last-registered first): the server is gone
		// with its files.
		if _, err := os.Stat(filepath.Dir(data)); data != "" && !os.IsNotExist(err) {
			t.Errorf("the server's directory is left behind (%v)", err)
		}
	})
	started := time.Now()
	dsn := Start(t)
	t.Logf("own server ready in %v", time.Since(started).Round(time.Millisecond))
	if !strings.HasPrefix(dsn, "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(dsn, "/test?sslmode=disable") {
		t.Fatalf("dsn %q", dsn)
	}
	if v := query(t, dsn, `SHOW server_version_num`); v < "150000" {
		t.Errorf("server version %s, want 15 or later", v)
	}
	for setting, want := range map[string]string{"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off", "listen_addresses": "127.0.0.1"} {
		if got := query(t, dsn, `SHOW `+setting); got != want {
			t.Errorf("%s = %s, want %s", setting, got, want)
		}
	}
	data = query(t, dsn, `SHOW data_directory`)
	if got := query(t, dsn, `SHOW unix_socket_directories`); got != data {
		t.Errorf("unix sockets in %s, want the data directory %s", got, data)
	}
}

func TestSharedServerGivesEachCallItsOwnDatabase(t *testing.T) {
	started := time.Now()
	a := StartShared(t)
	t.Logf("first shared database ready in %v", time.Since(started).Round(time.Millisecond))
	started = time.Now()
	b := StartShared(t)
	t.Logf("second shared database ready in %v", time.Since(started).Round(time.Millisecond))
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	if query(t, a, `SELECT current_database()`) == query(t, b, `SELECT current_database()`) {
		t.Fatal("two calls share a database")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE only_in_a (x INT)`); err != nil {
		t.Fatal(err)
	}
	if got := query(t, b, `SELECT COUNT(*)::text FROM pg_tables WHERE tablename = 'only_in_a'`); got != "0" {
		t.Fatal("a table of one database shows in the other")
	}
}

func TestSharedServerIsStartedOnce(t *testing.T) {
	t.Parallel()
	var ports []string
	for range 3 {
		dsn := StartShared(t)
		ports = append(ports, strings.Split(strings.TrimPrefix(dsn, "postgres://postgres@127.0.0.1:"), "/")[0])
	}
	if ports[0] != ports[1] || ports[1] != ports[2] {
		t.Fatalf("shared databases on several servers: ports %v", ports)
	}
}
