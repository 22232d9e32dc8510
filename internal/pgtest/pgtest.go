// Package pgtest starts throwaway PostgreSQL servers for tests; only tests import it.
//
// StartShared is what most tests want: the first call in a test binary starts one server (about
// 1-3 s), and every call, that one included, creates a new empty database on it (a few tens of
// milliseconds) that the test's cleanup drops. The shared server lives as long as the test
// binary: a small reaper process, started beside it, stops it and removes its directory when the
// binary exits, however it exits. Start gives a test a server of its own, stopped and removed by
// the test's cleanup, for tests that restart or break the server.
//
// The servers listen on 127.0.0.1 only, on a free port, with trust authentication, their unix
// sockets in the data directory, and fsync, full_page_writes and synchronous_commit off: fast,
// and unfit for anything but tests. PostgreSQL refuses to run as root, so under root the
// binaries run as the "postgres" OS user, which owns the server's directory.
//
// The binaries are looked for in $PG_BINDIR, /usr/lib/postgresql/15/bin (Debian's postgresql
// package) and on $PATH. Without them the test is skipped, except under CI=true, where it fails
// and says what to install.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// debianBinDir is where Debian 12's postgresql package puts initdb, pg_ctl and postgres.
const debianBinDir = "/usr/lib/postgresql/15/bin"

// installHint is what to run when PostgreSQL is missing.
const installHint = "sudo apt-get install -y postgresql (or: make deps)"

// server is one running PostgreSQL.
type server struct {
	bin  string // directory of initdb, pg_ctl, postgres
	base string // holds data/ and server.log; removed at the end
	data string
	port int
	cred *syscall.Credential // nil: run as the current user
}

// adminDSN connects to the server's "postgres" database as the superuser.
func (s *server) dsn(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// Start starts a PostgreSQL server for t alone, creates a database "test" on it and returns its
// DSN (postgres://postgres@127.0.0.1:PORT/test?sslmode=disable). t's cleanup stops the server and
// removes its files. Prefer StartShared unless the test needs a server to itself.
func Start(t testing.TB) (dsn string) {
	t.Helper()
	bin := findBinaries(t)
	srv, err := startServer(bin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	if err := srv.createDatabase(context.Background(), "test"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return srv.dsn("test")
}

var shared struct {
	once   sync.Once
	srv    *server
	err    error
	reaper io.WriteCloser // kept open while the binary runs: its closing tells the reaper to stop the server
	seq    atomic.Int64
}

// StartShared returns the DSN of a new, empty database (owned by the superuser "postgres") on the
// test binary's shared PostgreSQL server, starting the server on first use. t's cleanup drops the
// database. Safe for parallel tests.
func StartShared(t testing.TB) (dsn string) {
	t.Helper()
	bin := findBinaries(t)
	shared.once.Do(func() {
		shared.srv, shared.err = startServer(bin)
		if shared.err != nil {
			return
		}
		shared.reaper, shared.err = shared.srv.startReaper()
		if shared.err != nil {
			shared.srv.stop() //nolint:errcheck // already failing
		}
	})
	if shared.err != nil {
		t.Fatalf("pgtest: shared server: %v", shared.err)
	}
	name := fmt.Sprintf("test_%d", shared.seq.Add(1))
	ctx := context.Background()
	if err := shared.srv.createDatabase(ctx, name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := shared.srv.exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return shared.srv.dsn(name)
}

// findBinaries returns the directory holding initdb and pg_ctl, or skips t (fails it under CI).
func findBinaries(t testing.TB) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, debianBinDir)
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) && isExecutable(filepath.Join(d, "postgres")) {
			return d
		}
	}
	msg := fmt.Sprintf("PostgreSQL is not installed (no initdb, pg_ctl and postgres in $PG_BINDIR, %s or on $PATH); install it: %s", debianBinDir, installHint)
	if os.Getenv("CI") == "true" {
		t.Fatal("pgtest: " + msg)
	}
	t.Skip("pgtest: " + msg)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startServer runs initdb and starts the server, retrying on another port if the one it picked
// was taken in between.
func startServer(bin string) (*server, error) {
	cred, uid, gid, err := runAs()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("make the server's directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(base, uid, gid); err != nil {
			os.RemoveAll(base)
			return nil, fmt.Errorf("hand %s to the postgres user: %w", base, err)
		}
	}
	s := &server{bin: bin, base: base, data: filepath.Join(base, "data"), cred: cred}
	if err := s.initdb(); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			os.RemoveAll(base)
			return nil, err
		}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 3 {
			os.RemoveAll(base)
			return nil, err
		}
	}
}

// runAs says which OS user runs the server: the current one, or "postgres" under root.
func runAs() (cred *syscall.Credential, uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return nil, 0, 0, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("PostgreSQL does not run as root and there is no postgres user to run it as (%w); install PostgreSQL: %s", err, installHint)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

// command makes a command of the server's binaries that runs as the server's user, in its own
// process group (so that a Ctrl-C to the test does not reach it half-way).
func (s *server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	return cmd
}

func (s *server) run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out.Bytes())
	}
	return nil
}

func (s *server) initdb() error {
	err := s.run(s.command("initdb", "--pgdata", s.data, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions"))
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	conf := fmt.Sprintf(`
# pgtest: a throwaway server for tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 200
shared_buffers = 32MB
log_min_messages = warning
`, s.data)
	f, err := os.OpenFile(filepath.Join(s.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure the server: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return fmt.Errorf("configure the server: %w", err)
	}
	return f.Close()
}

// start starts the server on s.port and waits until it accepts connections.
func (s *server) start() error {
	err := s.run(s.command("pg_ctl", "start", "--pgdata", s.data, "--wait", "--timeout", "60",
		"--log", filepath.Join(s.base, "server.log"), "-o", "-p "+strconv.Itoa(s.port)))
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.base, "server.log"))
		return fmt.Errorf("start PostgreSQL: %w\nserver log:\n%s", err, log)
	}
	return nil
}

// stop stops the server at once (its data is thrown away) and removes its directory.
func (s *server) stop() error {
	err := s.run(s.command("pg_ctl", "stop", "--pgdata", s.data, "--mode", "immediate", "--wait"))
	if rmErr := os.RemoveAll(s.base); rmErr != nil && err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("stop the PostgreSQL server in %s: %w", s.base, err)
	}
	return nil
}

// startReaper starts a process that stops the server and removes its directory once the returned
// pipe closes, which the kernel does when the test binary exits.
func (s *server) startReaper() (io.WriteCloser, error) {
	script := `cat >/dev/null; "$0" stop --pgdata "$1/data" --mode immediate --wait >/dev/null 2>&1; rm -rf "$1"`
	cmd := exec.Command("/bin/sh", "-c", script, filepath.Join(s.bin, "pg_ctl"), s.base)
	cmd.Dir = s.base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start the server's reaper: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server's reaper: %w", err)
	}
	return w, nil
}

func (s *server) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func (s *server) createDatabase(ctx context.Context, name string) error {
	if err := s.exec(ctx, `CREATE DATABASE `+name); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
