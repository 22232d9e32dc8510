package filesystem_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
)

func TestRetention(t *testing.T) {
	var offset time.Duration // read by the storage only from the test's goroutine
	blobtest.RunRetention(t, func(t *testing.T) blob.Storage {
		s, _ := newStorage(t)
		s.Now = func() time.Time { return time.Now().Add(offset) }
		return s
	}, func(d time.Duration) { offset += d })
}

func TestLockFiles(t *testing.T) {
	s, root := newStorage(t)
	ctx := t.Context()
	until := time.Now().Add(time.Hour)
	if err := s.Put(ctx, "dir/obj", strings.NewReader("x"), blob.PutOptions{RetainUntil: until}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{"dir/obj": 0o400, "dir/obj.cairn-lock~": 0o400} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
		}
	}
	if got := strings.Join(walk(t, root), ","); got != "dir,dir/obj,dir/obj.cairn-lock~" {
		t.Errorf("the root holds %q, want the object and its lock file only", got)
	}

	// The lock outlives the Storage value: another one on the same root honours it.
	again, err := filesystem.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Delete(ctx, "dir/obj"); !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("Delete through a new Storage error = %v, want ErrLocked", err)
	}
	got, err := again.Retention(ctx, "dir/obj")
	if err != nil || !got.Equal(until) {
		t.Errorf("Retention = %v, %v, want %v", got, err, until)
	}

	// Once expired, Delete removes the lock file too and prunes the directory.
	again.Now = func() time.Time { return until.Add(time.Second) }
	if err := again.Delete(ctx, "dir/obj"); err != nil {
		t.Fatal(err)
	}
	if left := walk(t, root); len(left) != 0 {
		t.Errorf("after Delete the root holds %q", left)
	}
}

func TestCorruptLockFileRefusesDelete(t *testing.T) {
	s, root := newStorage(t)
	ctx := t.Context()
	if err := s.Put(ctx, "obj", strings.NewReader("x"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "obj.cairn-lock~"), []byte("someday"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "obj"); err == nil || !strings.Contains(err.Error(), "lock file") {
		t.Errorf("Delete with an unreadable lock file error = %v, want one about the lock file", err)
	}
	if err := s.Put(ctx, "obj", strings.NewReader("y"), blob.PutOptions{}); err == nil {
		t.Error("overwrite with an unreadable lock file succeeded")
	}
	if _, err := s.Stat(ctx, "obj"); err != nil {
		t.Errorf("the object is gone: %v", err)
	}
}

func TestOverwriteDropsExpiredLock(t *testing.T) {
	s, root := newStorage(t)
	ctx := t.Context()
	now := time.Now()
	s.Now = func() time.Time { return now }
	if err := s.Put(ctx, "obj", strings.NewReader("x"), blob.PutOptions{RetainUntil: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if err := s.Put(ctx, "obj", strings.NewReader("y"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(walk(t, root), ","); got != "obj" {
		t.Errorf("after overwriting an expired object the root holds %q, want obj", got)
	}
	if st, err := os.Stat(filepath.Join(root, "obj")); err != nil || st.Mode() != 0o600 {
		t.Errorf("the new object: %v %v, want mode 0600", st, err)
	}
}
