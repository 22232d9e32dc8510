// Package memory is an in-memory blob.Storage (mem:// URLs) for tests and dry runs. Its contents
// live as long as the Storage value and are never shared between values.
//
// Retention periods (blob.PutOptions.RetainUntil) are enforced within the process against the
// Storage's clock, which tests may replace to let time pass.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

type object struct {
	data        []byte // never modified after the Put that stored it
	modTime     time.Time
	retainUntil time.Time // zero: not locked
}

// Storage keeps objects in a map guarded by a mutex.
type Storage struct {
	// Now is the clock for modification times and retention periods; nil means time.Now. Set
	// it before the Storage is used.
	Now func() time.Time

	mu      sync.Mutex
	objects map[string]object
}

// New returns an empty Storage.
func New() *Storage {
	return &Storage{Now: time.Now, objects: map[string]object{}}
}

func (s *Storage) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// lockedUntil returns the end of obj's retention period, or the zero time if it is not locked.
func (s *Storage) lockedUntil(obj object) time.Time {
	if obj.retainUntil.After(s.now()) {
		return obj.retainUntil
	}
	return time.Time{}
}

// OpenURL opens the store a URL of this backend's scheme names.
func OpenURL(u *url.URL) (*Storage, error) {
	if u.Opaque != "" || u.User != nil || u.Host != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("blob: storage URL %q: mem:// takes no name or path; each Open returns a new, empty store", blob.DisplayURL(u))
	}
	return New(), nil
}

// String implements blob.Storage.
func (s *Storage) String() string { return "mem://" }

// Put implements blob.Storage. It reads all of r before storing, so a failed or cancelled read
// stores nothing.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := blob.CheckRetainUntil(key, opts.RetainUntil, s.now()); err != nil {
		return err
	}
	data, err := readAll(ctx, r)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, exists := s.objects[key]; exists {
		if opts.IfNotExists {
			return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
		}
		if until := s.lockedUntil(old); !until.IsZero() {
			return blob.LockedError("put", key, until)
		}
	}
	s.objects[key] = object{data: data, modTime: s.now(), retainUntil: opts.RetainUntil}
	return nil
}

func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if err == io.EOF {
			// A cancellation that raced with the last read still wins.
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (s *Storage) lookup(op, key string) (object, error) {
	if err := blob.ValidateKey(key); err != nil {
		return object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return object{}, fmt.Errorf("%s %s: %w", op, key, blob.ErrNotFound)
	}
	return obj, nil
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	obj, err := s.lookup("get", key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	size := int64(len(obj.data))
	if offset < 0 || offset > size || length >= 0 && length > size-offset {
		return nil, fmt.Errorf("get %s: offset %d length %d of %d bytes: %w", key, offset, length, size, blob.ErrInvalidRange)
	}
	end := size
	if length >= 0 {
		end = offset + length
	}
	return io.NopCloser(bytes.NewReader(obj.data[offset:end])), nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	obj, err := s.lookup("stat", key)
	if err != nil {
		return blob.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return blob.Info{Key: key, Size: int64(len(obj.data)), ModTime: obj.modTime}, nil
}

// List implements blob.Storage. fn runs without the lock held, so it may call s.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if err := blob.ValidatePrefix(prefix); err != nil {
		return err
	}
	s.mu.Lock()
	var infos []blob.Info
	for key, obj := range s.objects {
		if strings.HasPrefix(key, prefix) {
			infos = append(infos, blob.Info{Key: key, Size: int64(len(obj.data)), ModTime: obj.modTime})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(infos, func(a, b blob.Info) int { return strings.Compare(a.Key, b.Key) })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements blob.Storage.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return fmt.Errorf("delete %s: %w", key, blob.ErrNotFound)
	}
	if until := s.lockedUntil(obj); !until.IsZero() {
		return blob.LockedError("delete", key, until)
	}
	delete(s.objects, key)
	return nil
}

// Retention implements blob.Locker.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	obj, err := s.lookup("retention", key)
	if err != nil {
		return time.Time{}, err
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("retention %s: %w", key, err)
	}
	return s.lockedUntil(obj), nil
}

// ExtendRetention implements blob.Locker.
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	if err := blob.CheckRetainUntil(key, until, s.now()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.objects[key]
	if !ok {
		return fmt.Errorf("extend retention %s: %w", key, blob.ErrNotFound)
	}
	if until.After(s.lockedUntil(obj)) {
		obj.retainUntil = until
		s.objects[key] = obj
	}
	return nil
}
