package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault"
)

// TestVaultsMadeAndDeletedByTheServerAdministrator: logged in with server-admin.token, the
// administrator makes a vault whose printed token works in it alone, lists the vaults, deletes the
// vault once told --yes, and finds its calls in the server's audit.
func TestVaultsMadeAndDeletedByTheServerAdministrator(t *testing.T) {
	v := serveVault(t)
	admin := &testVault{url: v.url, dir: v.dir, home: t.TempDir()}
	admin.ok(t, "login", "--vault", v.url, "--token-file", filepath.Join(v.dir, vault.ServerAdminTokenFile))
	admin.fails(t, "reads none", "policy", "list")

	token := strings.TrimSpace(admin.ok(t, "vault", "create", "team-a", "--token-name", "lead", "--expires-in", "30d"))
	tokenFile := filepath.Join(t.TempDir(), "team-a.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	team := &testVault{url: v.url, home: t.TempDir()}
	team.ok(t, "login", "--vault", v.url, "--token-file", tokenFile)
	team.ok(t, "policy", "create", "nightly", "--daily-at", "03:00", "--retain", "7d")
	if out := v.ok(t, "policy", "list"); strings.Contains(out, "nightly") {
		t.Errorf("the default vault sees team-a's policy:\n%s", out)
	}
	team.fails(t, "needs the server administrator's token", "vault", "list")

	if out := admin.ok(t, "vault", "list"); !regexpLine(out, `default\s+0\s+0\s+0\s+1\s`) || !regexpLine(out, `team-a\s+0\s+0\s+0\s+1\s`) {
		t.Fatalf("vault list:\n%s", out)
	}
	admin.fails(t, "already exists", "vault", "create", "team-a")
	admin.fails(t, "give --yes", "vault", "delete", "team-a")
	if out := admin.ok(t, "vault", "delete", "team-a", "--yes"); !strings.Contains(out, `deleted vault "team-a"`) {
		t.Fatalf("delete:\n%s", out)
	}
	team.fails(t, "unknown bearer token", "policy", "list")
	if out := admin.ok(t, "vault", "audit"); !regexpLine(out, `\S+\s+admin\s+admin\s+POST /api/v1/vaults\s+/api/v1/vaults: vault team-a, first token lead`) ||
		!regexpLine(out, `\S+\s+admin\s+admin\s+DELETE /api/v1/vaults/\{name\}\s+/api/v1/vaults/team-a\s+204`) {
		t.Fatalf("the server's audit:\n%s", out)
	}
}
