package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// TestTokenLifeCycle: a token made with an expiry is listed with its maker and last use, works,
// and after `token revoke` is refused at its next command; the last contributor token stays;
// `vault issue-token` makes one from the data directory alone.
func TestTokenLifeCycle(t *testing.T) {
	v := startTestVault(t)
	secret := strings.TrimSpace(v.ok(t, "token", "create", "ci", "--role", "operator", "--expires-in", "30d"))
	v.fails(t, `name "CI": use lower-case letters`, "token", "create", "CI")
	v.fails(t, "--role: role \"admin\"", "token", "create", "x", "--role", "admin")
	v.fails(t, "expiresIn: 2y: give between 1m and", "token", "create", "x", "--expires-in", "2y")

	ciHome := t.TempDir()
	tokenFile := filepath.Join(ciHome, "ci.token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ci := &testVault{dir: v.dir, home: ciHome, url: v.url}
	ci.ok(t, "login", "--vault", v.url, "--token-file", tokenFile)
	ci.ok(t, "instance", "list")

	list := v.ok(t, "token", "list")
	if !regexpLine(list, `ci\s+operator\s+token\s+admin\s+\S+ ago\s+\S+ ago\s+in (30d|29d23h)`) || !regexpLine(list, `admin\s+contributor\s+token\s+-\s+`) {
		t.Fatalf("token list:\n%s", list)
	}
	var tokens []vaultv1.Token
	v.jsonOut(t, &tokens, "token", "list")
	if len(tokens) != 2 || tokens[1].Name != "ci" || tokens[1].ExpiresAt == nil {
		t.Fatalf("token list -o json: %+v", tokens)
	}

	v.ok(t, "token", "revoke", "ci")
	ci.fails(t, "unknown bearer token", "instance", "list")
	v.fails(t, "last working contributor token", "token", "revoke", "admin")

	rescue := strings.TrimSpace(v.ok(t, "vault", "issue-token", "rescue", "--data-dir", v.dir, "--expires-in", "1h"))
	if err := os.WriteFile(tokenFile, []byte(rescue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ci.ok(t, "login", "--vault", v.url, "--token-file", tokenFile)
	ci.ok(t, "token", "list")
}
