package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault"
)

// startVault serves a vault in-process on a free loopback port and returns its URL and data dir.
func startVault(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- vault.Serve(ctx, vault.Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default", Ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vault: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, dir
	case err := <-done:
		t.Fatalf("vault did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("vault did not start")
	}
	return "", ""
}

func runCLI(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestVaultPoliciesThroughTheCLI(t *testing.T) {
	url, dir := startVault(t)
	home := t.TempDir()
	if out, err := runCLI(t, home, "login", "--vault", url, "--token-file", filepath.Join(dir, vault.AdminTokenFile)); err != nil ||
		!strings.Contains(out, `logged in to vault "default"`) || !strings.Contains(out, "(contributor)") {
		t.Fatalf("login: %v\n%s", err, out)
	}
	if info, err := os.Stat(filepath.Join(home, ".config", "cairn", "vault.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("login file: %v %v", err, info)
	}
	if out, err := runCLI(t, home, "policy", "create", "nightly", "--daily-at", "02:30", "--time-zone", "Europe/Berlin",
		"--retain", "7d", "--weekly", "4w", "--keep-last", "3"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := runCLI(t, home, "policy", "list")
	if err != nil || !strings.Contains(out, "daily at 02:30 (Europe/Berlin)") || !strings.Contains(out, "keep 1w, weekly 4w, always the last 3") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := runCLI(t, home, "policy", "create", "tight", "--every-hours", "4", "--retain", "1h"); err == nil ||
		!strings.Contains(err.Error(), "shorter than the schedule's interval") {
		t.Fatalf("retention shorter than the interval: %v\n%s", err, out)
	}
	if out, err := runCLI(t, home, "policy", "create", "tiered", "--every-hours", "4", "--retain", "7d", "--copy-daily", "--copy-retain", "365d",
		"--copy-retain-monthly", "3y"); err != nil {
		t.Fatalf("create with a copy tier: %v\n%s", err, out)
	}
	if out, err := runCLI(t, home, "policy", "show", "tiered"); err != nil || !strings.Contains(out, "snapshots: keep 1w") ||
		!strings.Contains(out, "copies:    copy daily (UTC), keep 1y, monthly 3y") {
		t.Fatalf("show with a copy tier: %v\n%s", err, out)
	}
	if out, err := runCLI(t, home, "policy", "create", "halfcopy", "--every-hours", "4", "--retain", "7d", "--copy-retain", "30d"); err == nil ||
		!strings.Contains(err.Error(), "copy: say which backups copy") {
		t.Fatalf("copy tier without --copy-every or --copy-daily: %v\n%s", err, out)
	}
	if _, err := runCLI(t, home, "policy", "create", "nightly", "--every-hours", "4", "--retain", "2d"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate: %v", err)
	}
	reader, err := runCLI(t, home, "token", "create", "auditor", "--role", "reader")
	if err != nil {
		t.Fatal(err)
	}
	readerHome := t.TempDir()
	tokenFile := filepath.Join(readerHome, "token")
	reader, _, _ = strings.Cut(reader, "\n") // the expiry follows on stderr
	if err := os.WriteFile(tokenFile, []byte(reader), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, readerHome, "login", "--vault", url, "--token-file", tokenFile); err != nil || !strings.Contains(out, "(reader)") {
		t.Fatalf("reader login: %v\n%s", err, out)
	}
	if out, err := runCLI(t, readerHome, "policy", "show", "nightly", "-o", "json"); err != nil || !strings.Contains(out, `"dailyAt": "02:30"`) {
		t.Fatalf("reader show: %v\n%s", err, out)
	}
	if _, err := runCLI(t, readerHome, "policy", "delete", "nightly"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a reader deleted a policy: %v", err)
	}
	if _, err := runCLI(t, t.TempDir(), "policy", "list"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("without login: %v", err)
	}
}
