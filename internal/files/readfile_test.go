package files

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

func TestReadFileWritesOneFileWhole(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	filestest.MakeSmallEveryKind(t, src)
	s := newTestStore(t, nil)
	snap, err := s.Backup(ctx, src, BackupOptions{Source: "test"})
	filestest.Must(t, err)
	for _, p := range []string{"small.txt", "empty", "big.bin", "dir/deeper/text.log", "/sparse.img"} {
		want, err := os.ReadFile(filepath.Join(src, p))
		filestest.Must(t, err)
		var got bytes.Buffer
		n, err := s.ReadFile(ctx, snap, p, &got, 0)
		if err != nil || !bytes.Equal(got.Bytes(), want) || n.Size != int64(len(want)) {
			t.Errorf("%s: %d bytes of %d, node size %d, %v", p, got.Len(), len(want), n.Size, err)
		}
	}
	for p, want := range map[string]error{"dir": ErrNotRegularFile, "link": ErrNotRegularFile, "fifo": ErrNotRegularFile, "": ErrNotRegularFile, "big.bin": ErrFileTooLarge} {
		var got bytes.Buffer
		if _, err := s.ReadFile(ctx, snap, p, &got, 1000); !errors.Is(err, want) || got.Len() != 0 {
			t.Errorf("%q: %v (%d bytes written), want %v and nothing written", p, err, got.Len(), want)
		}
	}
	if _, err := s.ReadFile(ctx, snap, "no/such", &bytes.Buffer{}, 0); err == nil {
		t.Error("read a path the snapshot does not have")
	}
	if n, err := s.StatFile(ctx, snap, "small.txt", 0); err != nil || n.Size != 6 {
		t.Errorf("stat small.txt: %+v %v", n, err)
	}
}

func TestReadFileStopsAtAFlippedByte(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	dir := t.TempDir()
	content := filestest.RandomBytes(7, 3<<20)
	filestest.WriteFile(t, filepath.Join(dir, "f"), content, 0o644)
	snap, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	var packs []blob.Info
	filestest.Must(t, st.List(ctx, filerepo.PacksPrefix, func(i blob.Info) error { packs = append(packs, i); return nil }))
	for _, pack := range packs {
		for _, at := range []int64{10, pack.Size / 2} {
			undo := flip(t, st, pack.Key, at)
			var got bytes.Buffer
			_, err := s.ReadFile(ctx, snap, "f", &got, 0)
			undo()
			if err == nil {
				t.Fatalf("a flipped byte at %d of %s went unnoticed", at, pack.Key)
			}
			if !bytes.HasPrefix(content, got.Bytes()) || got.Len() == len(content) {
				t.Fatalf("a flipped byte at %d of %s: %d bytes written that are not the file's first (%v)", at, pack.Key, got.Len(), err)
			}
		}
	}
	var got bytes.Buffer
	if _, err := s.ReadFile(ctx, snap, "f", &got, 0); err != nil || !bytes.Equal(got.Bytes(), content) {
		t.Fatalf("after the damage was undone: %d bytes, %v", got.Len(), err)
	}
}
