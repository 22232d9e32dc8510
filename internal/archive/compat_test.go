package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/filesystem"
)

// testdata/v1 is a repository written by format version 1. Every later cairn must read and verify
// it; it is never rewritten except by a deliberate CAIRN_WRITE_COMPAT_FIXTURE=1 run when the
// fixture is first made.
const (
	compatDir        = "testdata/v1"
	compatPassphrase = "cairn-compat-v1"
)

func TestFormatV1FixtureStaysReadable(t *testing.T) {
	dir, err := filepath.Abs(compatDir)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CAIRN_WRITE_COMPAT_FIXTURE") == "1" {
		writeCompatFixture(t, dir)
	}
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r, err := Open(ctx, st, Credential{Passphrase: []byte(compatPassphrase)})
	if err != nil {
		t.Fatalf("open the v1 fixture: %v", err)
	}
	rep, err := r.Verify(ctx, "compat")
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("verify the v1 fixture: %v %v", err, rep.Problems)
	}
	b, err := r.OpenBackup(ctx, "compat")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := b.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, g := range ix.Groups {
		if err := b.ReadGroup(ctx, g, func(it []byte) error { got = append(got, bytes.Clone(it)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 3 || !bytes.Contains(got[0], []byte(`"name":"cm-00000"`)) {
		t.Fatalf("the v1 fixture reads back as %q", got)
	}
}

func writeCompatFixture(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	st, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Init(t.Context(), st, Credential{Passphrase: []byte(compatPassphrase)}, InitOptions{Encrypt: true, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	w, err := r.NewBackup(ctx, "compat")
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	for i, it := range [][]byte{item("ConfigMap", "shop", "cm-00000", "a"), item("ConfigMap", "shop", "cm-00001", "b")} {
		if err := s.Add(ctx, cmKey, true, it); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := s.Add(ctx, nsKey, false, item("Namespace", "", "shop", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, RecoveryPoint{Result: BackupResult{Phase: PhaseCompleted}}); err != nil {
		t.Fatal(err)
	}
}
