package filesystem_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
)

func newStorage(t *testing.T) (*filesystem.Storage, string) {
	t.Helper()
	root := t.TempDir()
	s, err := filesystem.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Storage {
		s, _ := newStorage(t)
		return s
	})
}

// walk returns every file and directory under root, relative and slash-separated.
func walk(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// endless cancels its context after 64 KiB and keeps producing data.
type endless struct {
	cancel context.CancelFunc
	n      int
}

func (r *endless) Read(p []byte) (int, error) {
	if r.n >= 64<<10 {
		r.cancel()
	}
	r.n += len(p)
	return len(p), nil
}

func TestCancelledPutLeavesNoTempFile(t *testing.T) {
	s, root := newStorage(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := s.Put(ctx, "deep/dir/obj", &endless{cancel: cancel}, blob.PutOptions{}); err == nil {
		t.Fatal("cancelled Put succeeded")
	}
	// Not even the directories it created for the object remain.
	if left := walk(t, root); len(left) != 0 {
		t.Errorf("cancelled Put left %q under the root", left)
	}
}

func TestFailedPutsLeaveNoTempFile(t *testing.T) {
	s, root := newStorage(t)
	ctx := t.Context()
	if err := s.Put(ctx, "k", strings.NewReader("one"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("two"), blob.PutOptions{IfNotExists: true}); err == nil {
		t.Fatal("IfNotExists Put over an existing key succeeded")
	}
	for _, p := range walk(t, root) {
		if strings.HasPrefix(filepath.Base(p), ".tmp-") {
			t.Errorf("temporary file %s left behind", p)
		}
	}
}

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	s, root := newStorage(t)
	ctx := t.Context()
	for _, key := range []string{"a/b/c/obj", "a/keep"} {
		if err := s.Put(ctx, key, strings.NewReader(key), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a/b/c/obj"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(walk(t, root), ","); got != "a,a/keep" {
		t.Errorf("after Delete the root holds %q, want a,a/keep", got)
	}
	if err := s.Delete(ctx, "a/keep"); err != nil {
		t.Fatal(err)
	}
	if left := walk(t, root); len(left) != 0 {
		t.Errorf("after deleting everything the root holds %q", left)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("the root itself was removed: %v", err)
	}
}

// TestPutWhileDeletesPruneItsParents: a Delete of the last object under a/ prunes a/ and its
// parents while a Put into a/b/c/ is making them; the Put makes the path again and succeeds.
func TestPutWhileDeletesPruneItsParents(t *testing.T) {
	s, _ := newStorage(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				key := fmt.Sprintf("a/b%d/c/obj-%d-%d", w%2, w, i)
				if err := s.Put(ctx, key, strings.NewReader("x"), blob.PutOptions{}); err != nil {
					errs <- err
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPermissions(t *testing.T) {
	s, root := newStorage(t)
	if err := s.Put(t.Context(), "dir/obj", strings.NewReader("secret"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{"dir/obj": 0o600, "dir": fs.ModeDir | 0o700} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
		}
	}
}

func TestNewCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "x", "y")
	s, err := filesystem.New(root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(root)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("root not created with mode 0700: %v %v", st, err)
	}
	if want := "file://" + filepath.ToSlash(root); s.String() != want {
		t.Errorf("String() = %q, want %q", s.String(), want)
	}
}

func TestKeyUnderAFileIsNotFound(t *testing.T) {
	s, _ := newStorage(t)
	ctx := t.Context()
	if err := s.Put(ctx, "a", strings.NewReader("file"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "a/b"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(a/b) with a file at a: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, "a/b", strings.NewReader("x"), blob.PutOptions{}); err == nil {
		t.Error("Put(a/b) with a file at a succeeded")
	}
}

func TestListIgnoresForeignFiles(t *testing.T) {
	s, root := newStorage(t)
	if err := s.Put(t.Context(), "ok", strings.NewReader("x"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".tmp-123~", "has space", "lost+found/file"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	if err := s.List(t.Context(), "", func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "ok" {
		t.Errorf("List = %q, want only ok", keys)
	}
}
