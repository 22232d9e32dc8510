package files

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// TestVerifySnapshots checks two snapshots on their own: the structure check reads no data and
// finds a pack cut short; the data check finds a changed byte in a blob the snapshot uses, and
// only there.
func TestVerifySnapshots(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	if rep, err := s.VerifySnapshots(ctx, []string{"0123456789abcdef0123456789abcdef"}, false); err != nil ||
		len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "the repository has no file store") {
		t.Fatalf("a store without files: %+v %v", rep, err)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	filestest.MakeEveryKind(t, dirA)
	filestest.WriteFile(t, filepath.Join(dirB, "f"), filestest.RandomBytes(7, 3<<20), 0o644)
	filestest.WriteFile(t, filepath.Join(dirB, "sub", "g"), filestest.RandomBytes(8, 100<<10), 0o644)
	a, err := s.Backup(ctx, dirA, BackupOptions{Source: "a"})
	filestest.Must(t, err)
	b, err := s.Backup(ctx, dirB, BackupOptions{Source: "b"})
	filestest.Must(t, err)

	check := func(what string, ids []string, readData bool, problem string) VerifyReport {
		t.Helper()
		rep, err := s.VerifySnapshots(ctx, ids, readData)
		filestest.Must(t, err)
		got := strings.Join(rep.Problems, "\n")
		if problem == "" && got != "" || problem != "" && !strings.Contains(got, problem) {
			t.Errorf("%s: problems %q, want %q", what, got, problem)
		}
		return rep
	}
	rep := check("intact, data", []string{a.ID, b.ID}, true, "")
	if rep.Snapshots != 2 || rep.Trees < 3 || rep.Blobs == 0 || rep.PacksRead == 0 || rep.BytesRead < 3<<20 {
		t.Errorf("data report %+v", rep)
	}
	if rep := check("intact, structure", []string{b.ID}, false, ""); rep.PacksRead != 0 || rep.BytesRead != 0 || rep.Blobs == 0 {
		t.Errorf("structure report %+v: it read data", rep)
	}

	// A byte of one of b's data blobs.
	x, err := filerepo.LoadIndex(ctx, st, s.keys)
	filestest.Must(t, err)
	root, err := s.loadTree(ctx, x, b.Tree)
	filestest.Must(t, err)
	var loc filerepo.Location
	for _, n := range root.Nodes {
		if n.Name == "f" {
			loc, _ = x.Lookup(n.Content[0].ID)
		}
	}
	if loc.Length == 0 {
		t.Fatalf("no data blob of b/f in %+v", root.Nodes)
	}
	key := filerepo.PackKey(loc.Pack)
	undo := flip(t, st, key, int64(loc.Offset)+int64(loc.Length)/2)
	check("flipped, structure", []string{b.ID}, false, "")
	check("flipped, data", []string{b.ID}, true, "pack "+loc.Pack.String())
	check("flipped, data of the other snapshot", []string{a.ID}, true, "")
	undo()

	// b's pack cut short.
	whole := get(t, st, key)
	filestest.Must(t, st.Put(ctx, key, bytes.NewReader(whole[:loc.Offset+loc.Length-1]), blob.PutOptions{}))
	check("truncated, structure", []string{b.ID}, false, "it was cut short")
	check("truncated, the other snapshot", []string{a.ID}, false, "")
	filestest.Must(t, st.Delete(ctx, key))
	check("deleted pack", []string{b.ID}, false, "is missing")

	check("missing snapshot", []string{"0123456789abcdef0123456789abcdef"}, false, "snapshot 0123456789abcdef0123456789abcdef")
}

func get(t *testing.T, st blob.Storage, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key, 0, -1)
	filestest.Must(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	filestest.Must(t, err)
	return buf.Bytes()
}
