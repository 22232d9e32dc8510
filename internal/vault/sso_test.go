package vault

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeChecksTheOIDCConfig: a bad single sign-on file, or one naming a vault the database
// lacks, stops the vault before it listens, naming the field; a provider that is down does not.
func TestServeChecksTheOIDCConfig(t *testing.T) {
	for name, tc := range map[string]struct{ config, want string }{
		"bad field":     {"issuer: https://login.example.com\nclientID: cairn\nvaults: {default: {groups: {admins: root}}}\n", `vaults.default.groups.admins: role "root"`},
		"unknown vault": {"issuer: https://login.example.com\nclientID: cairn\nvaults: {prod: {groups: {admins: reader}}}\n", "vaults.prod: no such vault in this database (it has default)"},
		"missing file":  {"", "oidc-config: open"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "oidc.yaml")
			if tc.config != "" {
				if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := Serve(ctx, Options{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Vault: "default", OIDCConfig: path,
				Ready: func(string) { t.Error("the vault listened"); cancel() }})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	// A provider that cannot be reached is tried again at each sign-in: the vault starts.
	dir := t.TempDir()
	path := filepath.Join(dir, "oidc.yaml")
	if err := os.WriteFile(path, []byte("issuer: http://127.0.0.1:1\nclientID: cairn\nvaults: {default: {groups: {admins: reader}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Options{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", Vault: "default", OIDCConfig: path,
			Ready: func(string) { cancel() }})
	}()
	if err := <-done; err != nil {
		t.Fatalf("a vault whose provider is down: %v", err)
	}
}
