package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
)

// TestBackupVerifyLevels: cairn backup verify --level structure reads no pack, so a byte changed
// inside one passes it and fails the data level (the default).
func TestBackupVerifyLevels(t *testing.T) {
	dir := t.TempDir()
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte("files-cli-test")},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	for i := range 2 {
		if err := s.Add(ctx, archive.GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: "shop"}, true,
			fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"shop"}}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted, Items: 2}}); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + dir
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "verify", "b1"}, "b1: intact (2 files, 1 sections, 2 items)"},
		{[]string{"backup", "verify", "b1", "--level", "data"}, "b1: intact (2 files, 1 sections, 2 items)"},
		{[]string{"backup", "verify", "b1", "--level", "structure"}, "b1: intact (2 files, 1 sections; structure only)"},
	} {
		if out, err := runFiles(t, append(tc.args, "--storage", storage)...); err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("cairn %s: %v\n%s\nwant %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	if out, err := runFiles(t, "backup", "verify", "b1", "--level", "sample", "--storage", storage); err == nil || !strings.Contains(err.Error(), `--level "sample": use data or structure`) {
		t.Errorf("unknown level: %v\n%s", err, out)
	}

	packs, err := filepath.Glob(filepath.Join(dir, "backups", "b1", "packs", "*"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs %v %v", packs, err)
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(packs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runFiles(t, "backup", "verify", "b1", "--level", "structure", "--storage", storage); err != nil || !strings.Contains(out, "b1: intact") {
		t.Errorf("structure of a pack with a changed byte: %v\n%s", err, out)
	}
	if out, err := runFiles(t, "backup", "verify", "b1", "--storage", storage); err == nil || !strings.Contains(out, "b1: DAMAGED") ||
		!strings.Contains(out, "checksum mismatch") {
		t.Errorf("data of a pack with a changed byte: %v\n%s", err, out)
	}
}
