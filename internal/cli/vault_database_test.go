package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestVaultDatabaseCopiedAndRestored runs a vault that copies its database every second, loses
// the database, and restores it from the newest copy with the CLI: the policy made before the copy
// is back, and the first token works again.
func TestVaultDatabaseCopiedAndRestored(t *testing.T) {
	dir, storage := t.TempDir(), "file://"+t.TempDir()
	pass := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(pass, []byte("vault copies passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, stop := serveVaultIn(t, dir, "--db-backup-storage", storage, "--db-backup-passphrase-file", pass, "--db-backup-every", "1s", "--db-backup-keep", "2")
	v.ok(t, "login", "--vault", v.url, "--token-file", filepath.Join(dir, vault.AdminTokenFile))
	v.ok(t, "policy", "create", "kept", "--daily-at", "03:00", "--retain", "7d")
	made := time.Now()
	var copies []archive.VaultDBListing
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		v.jsonOut(t, &copies, "vault", "database", "copies", "--storage", storage, "--passphrase-file", pass, "-o", "json")
		// Under load a copy may take longer than the interval: wait for the pruning too, which
		// needs a third copy with --db-backup-keep 2.
		pruned := strings.Contains(v.logs.String(), `"msg":"old vault database copy deleted"`)
		if n := len(copies); pruned && n > 0 && copies[n-1].Copy != nil && copies[n-1].Copy.TakenAt.After(made.Add(time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no copy taken after the policy was made: %+v\n%s", copies, v.logs.String())
		}
	}
	stop()
	if !strings.Contains(v.logs.String(), `"msg":"vault database copied"`) || !strings.Contains(v.logs.String(), `"msg":"old vault database copy deleted"`) {
		t.Errorf("the vault's log does not tell of copies and their pruning:\n%s", v.logs.String())
	}
	table := v.ok(t, "vault", "database", "copies", "--storage", storage, "--passphrase-file", pass)
	if !regexpLine(table, `^\d{8}-\d{6}\s+20\d\d-\S+\s+\S+ \S+\s+\S+ \S+\s+\d+\s+dev$`) {
		t.Errorf("copies table:\n%s", table)
	}

	restore := []string{"vault", "database", "restore", "--storage", storage, "--passphrase-file", pass, "--data-dir", dir}
	v.fails(t, "already holds a vault database (vault.db): give --force", restore...)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(dir, store.SQLiteFile+suffix)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	out := v.ok(t, restore...)
	if !strings.Contains(out, "restored copy "+copies[len(copies)-1].Name) || !strings.Contains(out, "cairn vault recover") {
		t.Fatalf("restore said:\n%s", out)
	}

	v2, _ := serveVaultIn(t, dir)
	v2.home = v.home
	v2.ok(t, "login", "--vault", v2.url, "--token-file", filepath.Join(dir, vault.AdminTokenFile))
	if out := v2.ok(t, "policy", "list"); !strings.Contains(out, "kept") {
		t.Fatalf("the restored vault's policies:\n%s", out)
	}
}

func TestVaultServeRefusesDatabaseCopiesWithoutTheirKey(t *testing.T) {
	v := &testVault{home: t.TempDir()}
	v.fails(t, "give --db-backup-passphrase-file or --db-backup-key-file, or set CAIRN_PASSPHRASE",
		"vault", "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--db-backup-storage", "file://"+t.TempDir())
	v.fails(t, "back PostgreSQL up with its own tools",
		"vault", "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--database", "postgres://nobody@127.0.0.1:1/cairn",
		"--db-backup-storage", "file://"+t.TempDir())
}
