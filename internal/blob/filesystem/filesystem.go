// Package filesystem is the blob.Storage backend for a directory on this machine (file:// URLs):
// key "a/b/c" is the file root/a/b/c. Objects are written to a temporary file, fsynced and then
// renamed (or hard-linked, for IfNotExists) into place, so readers never see a partial object.
//
// Because keys are files, a key cannot also be the directory of other keys: with "a/b" stored,
// a Put of "a" fails, and vice versa.
//
// Retention periods (blob.PutOptions.RetainUntil) are cairn's own: a locked object is written
// read-only (0400) and its end date recorded in a file beside it, "KEY.cairn-lock~" (the "~"
// keeps it out of List), and this backend refuses to delete or replace the object until then.
// A filesystem has no write-once mode, so nothing stops other programs: the read-only mode
// only guards against writes in place by non-root users, while unlinking needs no more than
// write permission on the directory, and root can do anything. For a lock that holds against a
// compromised host, use S3 object lock or Azure immutability policies.
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

const (
	dirMode = 0o700
	// lockedMode is the mode of a locked object and of its lock file.
	lockedMode = 0o400
	// tmpPattern: the "~" is outside the key alphabet, so a temporary file can never be taken
	// for a key (List skips every name that is not a valid key), whatever keys callers choose.
	tmpPattern = ".tmp-*~"
	copyBuffer = 1 << 20
)

// Storage keeps objects as files under a root directory.
type Storage struct {
	// Now is the clock retention periods are measured against; nil means time.Now. Set it
	// before the Storage is used.
	Now func() time.Time

	root string
	// commitMu makes the check of an object's lock and the commit that replaces, deletes or
	// locks it one step for the goroutines of this process (other processes are not excluded).
	commitMu sync.Mutex
}

// New returns a Storage rooted at root, creating the directory with mode 0700 if missing.
func New(root string) (*Storage, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("filesystem storage %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("filesystem storage: create %s: %w", abs, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filesystem storage: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("filesystem storage: %s is not a directory", abs)
	}
	return &Storage{Now: time.Now, root: abs}, nil
}

// OpenURL opens the store a URL of this backend's scheme names.
func OpenURL(u *url.URL) (*Storage, error) {
	if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") {
		return nil, fmt.Errorf("blob: storage URL %q does not name an absolute path; use an absolute path like file:///var/backups/cairn", blob.DisplayURL(u))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("blob: storage URL %q: file:// takes only a path, like file:///var/backups/cairn", blob.DisplayURL(u))
	}
	return New(filepath.FromSlash(u.Path))
}

// String returns the file:// URL of the root.
func (s *Storage) String() string { return "file://" + filepath.ToSlash(s.root) }

func (s *Storage) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put implements blob.Storage.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) (err error) {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := blob.CheckRetainUntil(key, opts.RetainUntil, s.now()); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	target := s.path(key)
	dir := filepath.Dir(target)

	f, err := s.createTemp(dir)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if tmp != "" {
			os.Remove(tmp)
		}
		if err != nil {
			s.pruneEmptyDirs(dir)
		}
	}()

	if err := copyContext(ctx, f, r); err != nil {
		return fmt.Errorf("put %s: write %s: %w", key, tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: sync %s: %w", key, tmp, err)
	}
	if !opts.RetainUntil.IsZero() {
		if err := f.Chmod(lockedMode); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	closeErr := f.Close()
	f = nil
	if closeErr != nil {
		return fmt.Errorf("put %s: close %s: %w", key, tmp, closeErr)
	}
	// Last chance to honour a cancellation: after this the object becomes visible.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}

	if err := s.commit(key, tmp, target, opts); err != nil {
		return err
	}
	if opts.IfNotExists {
		os.Remove(tmp) // before the directory sync, so the sync covers it too
	}
	tmp = ""
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// createTemp creates a temporary file in dir, creating dir if needed. It retries because a
// concurrent Delete may remove a directory it found empty between the mkdir and the create, or
// a parent between two mkdirs of the path.
func (s *Storage) createTemp(dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.CreateTemp(dir, tmpPattern)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 5 {
			return f, err
		}
		if err := s.mkdirs(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
}

// mkdirs creates dir and its missing parents under root, syncing each parent that gained an
// entry so the new object's path survives a crash.
func (s *Storage) mkdirs(dir string) error {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil {
		return err
	}
	cur := s.root
	for seg := range strings.SplitSeq(rel, string(filepath.Separator)) {
		if seg == "." {
			continue
		}
		next := filepath.Join(cur, seg)
		switch err := os.Mkdir(next, dirMode); {
		case err == nil:
			if err := syncDir(cur); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		cur = next
	}
	return nil
}

func copyContext(ctx context.Context, dst io.Writer, src io.Reader) error {
	buf := make([]byte, copyBuffer)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, mapErr("get", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mapErr("get", key, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, blob.ErrNotFound)
	}
	size := st.Size()
	if offset < 0 || offset > size || length >= 0 && length > size-offset {
		f.Close()
		return nil, fmt.Errorf("get %s: offset %d length %d of %d bytes: %w", key, offset, length, size, blob.ErrInvalidRange)
	}
	if length < 0 {
		length = size - offset
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	st, err := os.Stat(s.path(key))
	if err != nil {
		return blob.Info{}, mapErr("stat", key, err)
	}
	if st.IsDir() {
		return blob.Info{}, fmt.Errorf("stat %s: %w", key, blob.ErrNotFound)
	}
	return blob.Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List implements blob.Storage. It gathers and sorts the matching keys before calling fn: the
// order of a directory walk is not lexical key order ("a/b" sorts after "a-b" and "a.b").
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if err := blob.ValidatePrefix(prefix); err != nil {
		return err
	}
	// Only the directory named by the prefix's complete segments can hold matches.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = s.path(prefix[:i])
	}
	var infos []blob.Info
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the start directory or an entry vanished: nothing to list there
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == start {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if blob.ValidatePrefix(key+"/") != nil {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || blob.ValidateKey(key) != nil || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		infos = append(infos, blob.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %q in %s: %w", prefix, s, err)
	}
	slices.SortFunc(infos, func(a, b blob.Info) int { return strings.Compare(a.Key, b.Key) })
	for _, info := range infos {
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements blob.Storage, then removes directories the deletion left empty.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	p := s.path(key)
	st, err := os.Lstat(p)
	if err != nil {
		return mapErr("delete", key, err)
	}
	if st.IsDir() {
		return fmt.Errorf("delete %s: %w", key, blob.ErrNotFound)
	}
	if err := s.remove(key); err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.pruneEmptyDirs(dir)
	return nil
}

// pruneEmptyDirs removes dir and its parents up to, not including, root while they are empty.
// rmdir refuses a non-empty directory, so a concurrent Put in it is never disturbed.
func (s *Storage) pruneEmptyDirs(dir string) {
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

func mapErr(op, key string, err error) error {
	// ENOTDIR: a parent of the key is a file, so the key cannot exist.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %s: %w", op, key, blob.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
