package files

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

func TestBackupRestoreEveryKind(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	filestest.MakeEveryKind(t, src)
	s := newTestStore(t, nil)
	snap, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Summary.Errors != 0 || snap.Summary.Files != 8 || snap.Summary.Links != 2 || snap.Summary.Others != 1 {
		t.Errorf("summary: %+v", snap.Summary)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	sum, err := s.Restore(ctx, snap, "", dst, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Problems) > 0 {
		t.Fatalf("problems: %v", sum.Problems)
	}
	if d := filestest.Diff(filestest.Describe(t, src), filestest.Describe(t, dst)); d != "" {
		t.Fatalf("the restore differs from the source:\n%s", d)
	}
	var st unix.Stat_t
	filestest.Must(t, unix.Stat(filepath.Join(dst, "sparse.img"), &st))
	if st.Blocks*512 >= st.Size/2 {
		t.Errorf("sparse.img was restored with %d bytes allocated of %d: its holes were written", st.Blocks*512, st.Size)
	}
}

func TestRestorePartAndRefuseNonEmptyTarget(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	filestest.MakeEveryKind(t, src)
	s := newTestStore(t, nil)
	snap, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	filestest.Must(t, err)
	dst := t.TempDir()
	if _, err := s.Restore(ctx, snap, "dir/deeper", dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(src, "dir", "deeper", "text.log"))
	got, err := os.ReadFile(filepath.Join(dst, "deeper", "text.log"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("dir/deeper not restored: %v", err)
	}
	if _, err := s.Restore(ctx, snap, "", dst, RestoreOptions{}); err == nil {
		t.Fatal("restored into a directory that is not empty")
	}
	if _, err := s.Restore(ctx, snap, "no/such", t.TempDir(), RestoreOptions{}); err == nil {
		t.Fatal("restored a path the snapshot does not have")
	}
	entries, err := s.List(ctx, snap, "dir", true)
	if err != nil || len(entries) != 4 {
		t.Fatalf("ls dir -r: %v %+v", err, entries)
	}
}

func TestIncrementalReadsOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	filestest.MakeEveryKind(t, src)
	s := newTestStore(t, nil)
	first, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	filestest.Must(t, err)
	same, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	filestest.Must(t, err)
	if same.Summary.ReadBytes != 0 || same.Summary.NewBlobs != 0 || same.Tree != first.Tree || same.Parent != first.ID {
		t.Fatalf("an unchanged tree was read again or stored anew: %+v", same.Summary)
	}
	changed := []byte("changed content\n")
	filestest.WriteFile(t, filepath.Join(src, "dir", "exec.sh"), changed, 0o755)
	next, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	filestest.Must(t, err)
	if next.Summary.ReadBytes != int64(len(changed)) || next.Summary.UnchangedFiles != next.Summary.Files-1 {
		t.Fatalf("want only the changed file read: %+v", next.Summary)
	}
	all, err := s.Backup(ctx, src, BackupOptions{Source: "test", NoParent: true})
	filestest.Must(t, err)
	if all.Summary.ReadBytes == 0 || all.Summary.NewBlobs != 0 {
		t.Fatalf("--read-all: want everything read and nothing stored: %+v", all.Summary)
	}
}

func TestDeduplicationAcrossSources(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	data := filestest.RandomBytes(7, 5<<20)
	filestest.WriteFile(t, filepath.Join(a, "f"), data, 0o644)
	filestest.WriteFile(t, filepath.Join(b, "other-name"), data, 0o644)
	s := newTestStore(t, nil)
	sa, err := s.Backup(ctx, a, BackupOptions{Source: "a"})
	filestest.Must(t, err)
	sb, err := s.Backup(ctx, b, BackupOptions{Source: "b"})
	filestest.Must(t, err)
	if sb.Parent != "" || sb.Summary.ReadBytes != int64(len(data)) {
		t.Fatalf("source b has no parent and reads its file: %+v", sb)
	}
	if sb.Summary.NewRawBytes >= sa.Summary.NewRawBytes/100 {
		t.Fatalf("the same content from another source was stored again: %d raw bytes new (first: %d)", sb.Summary.NewRawBytes, sa.Summary.NewRawBytes)
	}
}

func TestChunkBoundariesSurviveAnInsertion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filestest.RandomBytes(3, 24<<20)
	filestest.WriteFile(t, filepath.Join(dir, "f"), data, 0o644)
	s := newTestStore(t, nil)
	first, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	edited := append(append(append([]byte(nil), data[:10<<20]...), []byte("an insertion of a few bytes")...), data[10<<20:]...)
	filestest.WriteFile(t, filepath.Join(dir, "f"), edited, 0o644)
	second, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	if first.Summary.NewBlobs < 20 {
		t.Fatalf("24 MiB gave only %d chunks", first.Summary.NewBlobs)
	}
	// The insertion changes the chunk it falls in (and perhaps the next): every other chunk is
	// found again, so at most 3 new blobs (two chunks and the tree).
	if second.Summary.NewBlobs > 3 || second.Summary.NewRawBytes > 3*filerepo.MaxDataBlob/2 {
		t.Fatalf("an insertion of 27 bytes stored %d new blobs, %d bytes", second.Summary.NewBlobs, second.Summary.NewRawBytes)
	}
}
