package vault

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// serveOnce starts a vault named vault on dir, waits until it listens and stops it.
func serveOnce(t *testing.T, dir, vault string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: vault, Ready: func(addr string) { ready <- addr }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("vault %s did not start: %v", vault, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("vault %s: %v", vault, err)
	}
}

// TestDataDirectoryIsPrivateAndKeepsTheFirstToken: the database and the first token files are
// their owner's alone whatever the umask; a restart keeps them; a --vault naming no vault of a
// server that has some is refused (vaults are made while the server runs), and makes nothing.
func TestDataDirectoryIsPrivateAndKeepsTheFirstToken(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	serveOnce(t, dir, "")
	first, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := os.ReadFile(filepath.Join(dir, ServerAdminTokenFile))
	if err != nil || string(admin) == string(first) {
		t.Fatalf("the administrator's token file: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, "vault.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	serveOnce(t, dir, DefaultVault)
	for name, want := range map[string][]byte{AdminTokenFile: first, ServerAdminTokenFile: admin} {
		if again, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(again) != string(want) {
			t.Fatalf("%s was overwritten: %v", name, err)
		}
	}
	err = Serve(t.Context(), Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "other"})
	if err == nil || !strings.Contains(err.Error(), "no such vault on this server (it has default)") || !strings.Contains(err.Error(), "cairn vault create other") {
		t.Fatalf("a --vault the server lacks: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".token") && e.Name() != AdminTokenFile && e.Name() != ServerAdminTokenFile {
			t.Errorf("a refused start wrote %s", e.Name())
		}
	}
	for _, name := range []string{"vault.db", AdminTokenFile, ServerAdminTokenFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, info.Mode().Perm(), err)
		}
	}
}

// TestSlowClientsAreCutOff: a client that sends a request's headers and then nothing of its body,
// or keeps a connection idle, is disconnected once the server's timeouts pass.
func TestSlowClientsAreCutOff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Vault: "default", Ready: func(addr string) { ready <- addr },
			Timeouts: Timeouts{Read: 300 * time.Millisecond, Idle: 300 * time.Millisecond}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vault: %v", err)
		}
	}()
	addr := <-ready
	for name, req := range map[string]string{
		"a body that never comes":       "POST /api/v1/policies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
		"an idle kept-alive connection": "GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, conn) // returns once the server closes the connection
		conn.Close()
		if err != nil {
			t.Errorf("%s: the server kept the connection open: %v", name, err)
		}
	}
}

// TestSecondVaultOnOneDataDirRefusesToStart: while one vault serves a data directory, a second
// refuses to start and names the first's process; once the first stops, a new one starts.
func TestSecondVaultOnOneDataDirRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default", Ready: func(addr string) { ready <- addr }})
	}()
	<-ready
	err := Serve(context.Background(), Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default"})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another vault process (pid %d) serves data dir", os.Getpid())) {
		t.Fatalf("the second vault: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	serveOnce(t, dir, "default")
}

// TestIssueTokenFromTheHost: with the first token expired, a token made straight in the database
// works, for the vault named, with the lifetime given; an unknown vault or data dir is refused.
func TestIssueTokenFromTheHost(t *testing.T) {
	dir := t.TempDir()
	serveOnce(t, dir, "default")
	later := func() time.Time { return time.Now().Add(100 * 24 * time.Hour) }
	secret, expires, err := IssueToken(t.Context(), IssueOptions{DataDir: dir, Vault: "default", Name: "rescue", Role: "contributor", Lifetime: time.Hour, Now: later})
	if err != nil || !strings.HasPrefix(secret, "cairn_") || expires.Sub(later()) > time.Hour {
		t.Fatalf("issue: %q %s %v", secret, expires, err)
	}
	st, err := store.OpenSQLite(t.Context(), dir, later)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LookupToken(t.Context(), strings.TrimSpace(string(first))); err == nil {
		t.Error("the first token still works 100 days later")
	}
	if p, err := st.LookupToken(t.Context(), secret); err != nil || p.Name != "rescue" || p.Role != "contributor" {
		t.Errorf("the issued token: %+v %v", p, err)
	}
	if _, _, err := IssueToken(t.Context(), IssueOptions{DataDir: dir, Vault: "prod", Name: "x", Role: "reader", Lifetime: time.Hour}); err == nil ||
		!strings.Contains(err.Error(), `vault "prod" is not in this database`) {
		t.Errorf("an unknown vault: %v", err)
	}
	if _, _, err := IssueToken(t.Context(), IssueOptions{DataDir: t.TempDir(), Vault: "default", Name: "x", Role: "reader", Lifetime: time.Hour}); err == nil ||
		!strings.Contains(err.Error(), "no vault database in") {
		t.Errorf("an empty data dir: %v", err)
	}
}
