package vault

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
// their owner's alone whatever the umask, and a second vault started on the same data directory
// writes its own first token file instead of overwriting the first vault's.
func TestDataDirectoryIsPrivateAndKeepsTheFirstToken(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	serveOnce(t, dir, "default")
	first, err := os.ReadFile(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "vault.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	serveOnce(t, dir, "other")
	if again, err := os.ReadFile(filepath.Join(dir, AdminTokenFile)); err != nil || string(again) != string(first) {
		t.Fatalf("the first vault's token file was overwritten: %v", err)
	}
	second, err := os.ReadFile(filepath.Join(dir, "admin-other.token"))
	if err != nil || len(second) < 10 || string(second) == string(first) {
		t.Fatalf("the second vault's token file: %q, %v", second, err)
	}
	for _, name := range []string{"vault.db", AdminTokenFile, "admin-other.token"} {
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
