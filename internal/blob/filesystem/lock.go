package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// lockSuffix names the lock file of an object: "~" is outside the key alphabet, so List skips
// it and no key can collide with it.
const lockSuffix = ".cairn-lock~"

func (s *Storage) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Storage) lockPath(key string) string { return s.path(key) + lockSuffix }

// lockedUntil returns the end of key's retention period, or the zero time if it is not locked.
// An unreadable lock file is an error, never taken for no lock.
func (s *Storage) lockedUntil(key string) (time.Time, error) {
	p := s.lockPath(key)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read lock file: %w", err)
	}
	until, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(data)))
	if err != nil {
		return time.Time{}, fmt.Errorf("lock file %s: %w", p, err)
	}
	if !until.After(s.now()) {
		return time.Time{}, nil
	}
	return until, nil
}

// commit makes the written temporary file tmp the object key at target: linked (IfNotExists)
// or renamed over any unlocked object, with its lock file when opts asks for a retention
// period. The object is never visible unlocked when it is replaced, and is removed again if
// its lock file cannot be written after the link.
func (s *Storage) commit(key, tmp, target string, opts blob.PutOptions) error {
	locking := !opts.RetainUntil.IsZero()
	if opts.IfNotExists && !locking {
		// link(2) fails with EEXIST if target exists, atomically; rename would replace it.
		return linkErr(key, os.Link(tmp, target))
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if opts.IfNotExists {
		if err := linkErr(key, os.Link(tmp, target)); err != nil {
			return err
		}
		if err := s.writeLock(key, opts.RetainUntil); err != nil {
			os.Remove(target)
			return fmt.Errorf("put %s: %w", key, err)
		}
		return nil
	}

	until, err := s.lockedUntil(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !until.IsZero() {
		return blob.LockedError("put", key, until)
	}
	if locking {
		if err := s.writeLock(key, opts.RetainUntil); err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		if locking {
			os.Remove(s.lockPath(key)) // it replaced none or an expired one
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	if !locking {
		os.Remove(s.lockPath(key)) // an expired lock of the replaced object, if any
	}
	return nil
}

func linkErr(key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("put %s: %w", key, blob.ErrAlreadyExists)
	}
	return fmt.Errorf("put %s: %w", key, err)
}

// writeLock records until as the end of key's retention period, atomically and durably (the
// caller syncs the directory).
func (s *Storage) writeLock(key string, until time.Time) (err error) {
	f, err := s.createTemp(filepath.Dir(s.path(key)))
	if err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.WriteString(until.UTC().Format(time.RFC3339Nano) + "\n"); err != nil {
		return fmt.Errorf("write lock file %s: %w", tmp, err)
	}
	if err := f.Chmod(lockedMode); err != nil {
		return fmt.Errorf("write lock file %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync lock file %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close lock file %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.lockPath(key)); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// remove deletes the object key, which exists, unless it is locked, and then its expired lock
// file.
func (s *Storage) remove(key string) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	until, err := s.lockedUntil(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if !until.IsZero() {
		return blob.LockedError("delete", key, until)
	}
	if err := os.Remove(s.path(key)); err != nil {
		return mapErr("delete", key, err)
	}
	if err := os.Remove(s.lockPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: remove expired lock file: %w", key, err)
	}
	return nil
}

// Retention implements blob.Locker.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	if _, err := s.Stat(ctx, key); err != nil {
		return time.Time{}, fmt.Errorf("retention: %w", err)
	}
	until, err := s.lockedUntil(key)
	if err != nil {
		return time.Time{}, fmt.Errorf("retention %s: %w", key, err)
	}
	return until, nil
}

// ExtendRetention implements blob.Locker: the lock file is replaced, atomically, by one with the
// later end.
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	if err := blob.CheckRetainUntil(key, until, s.now()); err != nil {
		return err
	}
	s.commitMu.Lock() // Delete takes it too: the object cannot go between the look and the lock
	defer s.commitMu.Unlock()
	if _, err := s.Stat(ctx, key); err != nil {
		return fmt.Errorf("extend retention: %w", err)
	}
	current, err := s.lockedUntil(key)
	if err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	if !until.After(current) {
		return nil
	}
	if err := s.writeLock(key, until); err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(s.path(key))); err != nil {
		return fmt.Errorf("extend retention %s: %w", key, err)
	}
	return nil
}
