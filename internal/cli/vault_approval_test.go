package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault"
)

// TestApprovalFlow: on a vault served with --require-approval, a second contributor token comes
// from the server's host (vault issue-token), not the API; deleting an instance is held and the
// command says how to approve it; its requester's approval is refused; another contributor's
// runs it. The request expires after --approval-ttl.
func TestApprovalFlow(t *testing.T) {
	v := serveVault(t, "--require-approval", "--approval-ttl", "2h")
	v.protect(t, "east", "shop")
	v.ok(t, "instance", "stop", "shop")
	v.fails(t, "cairn vault issue-token NAME --role contributor", "token", "create", "bob", "--role", "contributor")
	secret := strings.TrimSpace(v.ok(t, "vault", "issue-token", "bob", "--role", "contributor", "--data-dir", v.dir))
	bobHome := t.TempDir()
	tokenFile := filepath.Join(bobHome, "bob.token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bob := &testVault{dir: v.dir, home: bobHome, url: v.url}
	bob.ok(t, "login", "--vault", v.url, "--token-file", tokenFile)

	out := v.ok(t, "instance", "delete", "shop")
	if !strings.Contains(out, "waiting for approval: request 1 (another contributor runs: cairn approval approve 1)") {
		t.Fatalf("instance delete:\n%s", out)
	}
	v.ok(t, "instance", "show", "shop")
	if out := bob.ok(t, "approval", "list", "--state", "pending"); !regexpLine(out, `1\s+pending\s+DELETE /api/v1/instances/\{name\}\s+/api/v1/instances/shop\s+admin`) {
		t.Fatalf("approval list:\n%s", out)
	}
	var held vaultv1.ApprovalRequest
	bob.jsonOut(t, &held, "approval", "show", "1")
	if held.ExpiresAt.Sub(held.RequestedAt) != 2*time.Hour {
		t.Errorf("requested at %s, expires at %s: want --approval-ttl 2h", held.RequestedAt, held.ExpiresAt)
	}
	v.fails(t, "was made by admin: another contributor must approve it", "approval", "approve", "1")
	if out := bob.ok(t, "approval", "approve", "1"); !regexpLine(out, `approval request 1: approved`) {
		t.Fatalf("approve:\n%s", out)
	}
	v.fails(t, `instance "shop"`, "instance", "show", "shop")
}

// serveVault runs `cairn vault serve` with flags on a free port of its own and logs in as the
// first contributor (admin), like startTestVault but through the command and its flags.
func serveVault(t *testing.T, flags ...string) *testVault {
	t.Helper()
	v, _ := serveVaultIn(t, t.TempDir(), flags...)
	v.ok(t, "login", "--vault", v.url, "--token-file", filepath.Join(v.dir, vault.AdminTokenFile))
	return v
}

// serveVaultIn runs `cairn vault serve` on data directory dir with flags, on a free port, until
// stop is called or the test ends.
func serveVaultIn(t *testing.T, dir string, flags ...string) (v *testVault, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.LockedBuffer{}
	done := make(chan error, 1)
	root := NewRootCommand(Env{Stdout: &testenv.LockedBuffer{}, Stderr: logs, Getenv: func(string) string { return "" }})
	root.SetArgs(append([]string{"vault", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-format", "json"}, flags...))
	go func() { done <- root.ExecuteContext(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cairn vault serve: %v", err)
		}
		if t.Failed() {
			t.Logf("the vault's log:\n%s", logs.String())
		}
	})
	t.Cleanup(stop)
	v = &testVault{dir: dir, home: t.TempDir(), logs: logs}
	for deadline := time.Now().Add(10 * time.Second); v.url == ""; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("cairn vault serve ended: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cairn vault serve did not start:\n%s", logs.String())
		}
		for sc := bufio.NewScanner(strings.NewReader(logs.String())); sc.Scan(); {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "vault serving" {
				v.url = "http://" + line.Addr
			}
		}
	}
	return v, stop
}
