package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault"
)

// TestLoginFileIsPrivate: cairn login leaves its file (which holds a token) readable by its
// owner only, even when the file existed with a looser mode.
func TestLoginFileIsPrivate(t *testing.T) {
	v := startTestVault(t)
	path := filepath.Join(v.home, ".config", "cairn", "vault.json")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	v.ok(t, "login", "--vault", v.url, "--token-file", filepath.Join(v.dir, vault.AdminTokenFile))
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v, %v; want 0600", path, info.Mode().Perm(), err)
	}
}
