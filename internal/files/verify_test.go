package files

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// flip changes one byte of an object and returns how to put it back.
func flip(t *testing.T, st blob.Storage, key string, at int64) (restore func()) {
	t.Helper()
	ctx := context.Background()
	rc, err := st.Get(ctx, key, 0, -1)
	filestest.Must(t, err)
	data, err := io.ReadAll(rc)
	rc.Close()
	filestest.Must(t, err)
	orig := bytes.Clone(data)
	data[at] ^= 0x40
	filestest.Must(t, st.Put(ctx, key, bytes.NewReader(data), blob.PutOptions{}))
	return func() { filestest.Must(t, st.Put(ctx, key, bytes.NewReader(orig), blob.PutOptions{})) }
}

func TestVerifyFindsAFlippedByteAnywhere(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	dir := t.TempDir()
	filestest.MakeEveryKind(t, dir)
	_, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	if notes := mustVerify(t, s); len(notes) > 0 {
		t.Fatalf("notes on a fresh store: %v", notes)
	}
	var objects []blob.Info
	filestest.Must(t, st.List(ctx, "files/", func(i blob.Info) error {
		if !strings.HasPrefix(i.Key, filerepo.LocksPrefix) {
			objects = append(objects, i)
		}
		return nil
	}))
	r := rand.New(rand.NewPCG(9, 9))
	for _, obj := range objects {
		// The first and last bytes, and random ones between.
		spots := []int64{0, obj.Size - 1, obj.Size - 5}
		for range 6 {
			spots = append(spots, r.Int64N(obj.Size))
		}
		for _, at := range spots {
			if at < 0 {
				continue
			}
			undo := flip(t, st, obj.Key, at)
			rep, err := s.Verify(ctx, VerifyOptions{ReadData: true})
			undo()
			if err == nil && len(rep.Problems) == 0 {
				t.Fatalf("a flipped byte at %d of %s (%d bytes) went unnoticed", at, obj.Key, obj.Size)
			}
			name := filepath.Base(obj.Key)
			name = strings.TrimSuffix(name, ".pack")
			if err == nil && !strings.Contains(strings.Join(rep.Problems, "\n"), name) {
				t.Errorf("a flipped byte in %s is reported without naming it: %v", obj.Key, rep.Problems)
			}
		}
	}
	mustVerify(t, s)
}

func TestVerifyStructureWithoutReadingData(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	dir := t.TempDir()
	filestest.WriteFile(t, filepath.Join(dir, "f"), filestest.RandomBytes(50, 2<<20), 0o644)
	_, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	var pack blob.Info
	filestest.Must(t, st.List(ctx, filerepo.PacksPrefix, func(i blob.Info) error { pack = i; return nil }))
	// A pack's data byte needs --read-data; a missing pack does not.
	undo := flip(t, st, pack.Key, 10)
	rep, err := s.Verify(ctx, VerifyOptions{})
	filestest.Must(t, err)
	if len(rep.Problems) != 0 || rep.PacksRead != 0 {
		t.Fatalf("structure-only verify read data: %+v", rep)
	}
	rep, _ = s.Verify(ctx, VerifyOptions{ReadSubset: 1})
	if len(rep.Problems) == 0 {
		t.Fatal("a 100% subset missed the flipped byte")
	}
	undo()
	filestest.Must(t, st.Delete(ctx, pack.Key))
	rep, _ = s.Verify(ctx, VerifyOptions{})
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "missing") {
		t.Fatalf("a deleted pack went unnoticed: %+v", rep)
	}
}
