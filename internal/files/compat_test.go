package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// testdata/v1 is a repository whose file store was written by the first version of the format
// (docs/design/format.md Part 2), with one snapshot of every kind of entry; expected.txt
// describes that tree. Every later cairn must verify and restore it. It is rewritten only by a
// deliberate CAIRN_WRITE_COMPAT_FIXTURE=1 run.
const (
	compatDir        = "testdata/v1"
	compatPassphrase = "cairn-files-compat-v1"
)

func TestFileStoreV1FixtureStaysReadable(t *testing.T) {
	if os.Getenv("CAIRN_WRITE_COMPAT_FIXTURE") == "1" {
		writeFilesFixture(t)
	}
	// Verify and restore take locks: work on a copy, never on the fixture itself.
	dir := filepath.Join(t.TempDir(), "repo")
	filestest.Must(t, os.CopyFS(dir, os.DirFS(compatDir)))
	st, err := filesystem.New(dir)
	filestest.Must(t, err)
	ctx := t.Context()
	repo, err := archive.Open(ctx, st, archive.Credential{Passphrase: []byte(compatPassphrase)})
	if err != nil {
		t.Fatalf("open the fixture: %v", err)
	}
	s, err := Open(repo, Options{})
	filestest.Must(t, err)
	rep, err := s.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil || len(rep.Problems) > 0 || len(rep.Notes) > 0 || rep.Snapshots != 1 {
		t.Fatalf("verify the fixture: %v %+v", err, rep)
	}
	snaps, err := s.Snapshots(ctx)
	filestest.Must(t, err)
	dst := filepath.Join(t.TempDir(), "restored")
	sum, err := s.Restore(ctx, snaps[0], "", dst, RestoreOptions{})
	if err != nil || len(sum.Problems) > 0 {
		t.Fatalf("restore the fixture: %v %v", err, sum.Problems)
	}
	want, err := os.ReadFile(filepath.Join(compatDir, "..", "v1-expected.txt"))
	filestest.Must(t, err)
	if d := filestest.Diff(strings.Split(strings.TrimSpace(string(want)), "\n"), filestest.Describe(t, dst)); d != "" {
		t.Fatalf("the fixture restores differently:\n%s", d)
	}
}

func writeFilesFixture(t *testing.T) {
	src := t.TempDir()
	filestest.MakeSmallEveryKind(t, src)
	filestest.Must(t, os.RemoveAll(compatDir))
	filestest.Must(t, os.MkdirAll(compatDir, 0o755))
	st, err := filesystem.New(compatDir)
	filestest.Must(t, err)
	repo, err := archive.Init(t.Context(), st, archive.Credential{Passphrase: []byte(compatPassphrase)},
		archive.InitOptions{Encrypt: true, KDF: testKDF})
	filestest.Must(t, err)
	s, err := Open(repo, Options{})
	filestest.Must(t, err)
	if _, err := s.Backup(t.Context(), src, BackupOptions{Source: "compat", Tags: map[string]string{"fixture": "v1"}}); err != nil {
		t.Fatal(err)
	}
	lines := filestest.Describe(t, src)
	filestest.Must(t, os.WriteFile(filepath.Join(compatDir, "..", "v1-expected.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}
