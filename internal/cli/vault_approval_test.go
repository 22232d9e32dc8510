package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault"
)

// TestApprovalFlow: on a vault requiring approval, deleting an instance is held and the command
// says how to approve it; its requester's approval is refused; another contributor's runs it.
func TestApprovalFlow(t *testing.T) {
	v := startTestVaultWith(t, func(o *vault.Options) { o.API.RequireApproval = true })
	v.protect(t, "east", "shop")
	v.ok(t, "instance", "stop", "shop")
	secret := strings.TrimSpace(v.ok(t, "token", "create", "bob", "--role", "contributor"))
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
	v.fails(t, "was made by admin: another contributor must approve it", "approval", "approve", "1")
	if out := bob.ok(t, "approval", "approve", "1"); !regexpLine(out, `approval request 1: approved`) {
		t.Fatalf("approve:\n%s", out)
	}
	v.fails(t, `instance "shop"`, "instance", "show", "shop")
}
