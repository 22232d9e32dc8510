// Package blob is cairn's storage boundary: every byte of a recovery point is written to and read
// from a Storage, a flat key/value store of immutable-by-convention objects. Backends (a local
// directory, memory for tests, later Azure Blob and S3) implement Storage and must pass the
// conformance suite in package blobtest.
//
// Keys are slash-separated relative paths such as "snapshots/2024/abc.json"; see ValidateKey.
// Errors that callers branch on wrap the sentinels below, so use errors.Is.
//
// An object can be locked for a retention period (PutOptions.RetainUntil) where the backend
// offers it; Locker and RetentionOf report the lock.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Storage is a place recovery points are kept. Implementations are safe for concurrent use.
type Storage interface {
	// Put stores the whole of r under key. With opts.IfNotExists it fails with ErrAlreadyExists
	// when key exists, atomically (two racing writers: exactly one wins). A failed or cancelled
	// Put leaves no visible object (and an overwrite that fails leaves the old object intact).
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) error
	// Get returns the bytes of key from offset; length < 0 means to the end. ErrNotFound if
	// missing. A range past the end (offset > size, or offset+length > size) or a negative
	// offset is an error wrapping ErrInvalidRange; offset == size returns no bytes.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes key, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// List calls fn for every key with the prefix, in lexical key order; an error from fn stops
	// listing and is returned. The prefix is a plain string prefix (see ValidatePrefix).
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Delete removes key; deleting a missing key returns ErrNotFound, and deleting one under
	// an unexpired retention period (see PutOptions.RetainUntil) an error wrapping ErrLocked.
	Delete(ctx context.Context, key string) error
	// String describes the location for messages, never including credentials.
	String() string
}

// PutOptions adjusts a Put.
type PutOptions struct {
	// IfNotExists makes Put fail with ErrAlreadyExists instead of overwriting.
	IfNotExists bool
	// RetainUntil, when not zero, locks the object until then: until that time neither Delete
	// nor an overwriting Put succeeds (they fail with ErrLocked), whatever the credentials. A
	// backend or location that cannot lock fails the Put with ErrRetentionUnsupported, before
	// storing anything when it can tell; a time not in the future is an error. See each
	// backend for how far its lock really holds.
	RetainUntil time.Time
}

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Sentinel errors; backends wrap them with the key, so test with errors.Is.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("blob: not found")
	// ErrAlreadyExists: a Put with IfNotExists found the key taken.
	ErrAlreadyExists = errors.New("blob: already exists")
	// ErrInvalidRange: a Get asked for bytes outside the object.
	ErrInvalidRange = errors.New("blob: invalid range")
	// ErrInvalidKey: a key or prefix breaks the rules of ValidateKey.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrLocked: a Delete or overwrite of an object whose retention period has not ended.
	ErrLocked = errors.New("blob: object is locked by a retention period")
	// ErrRetentionUnsupported: a Put asked for a retention period (PutOptions.RetainUntil) that
	// the backend or location cannot enforce; the error says what to configure.
	ErrRetentionUnsupported = errors.New("blob: retention periods are not supported here")
)

// MaxKeyLen is the longest key, in bytes, that ValidateKey accepts.
const MaxKeyLen = 1024

// ValidateKey reports whether key is usable with every backend: non-empty, at most MaxKeyLen
// bytes, slash-separated segments of [A-Za-z0-9._-], no empty, "." or ".." segment, so no
// leading or trailing slash. The error wraps ErrInvalidKey and names the key.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w %q: empty", ErrInvalidKey, key)
	}
	if reason := checkPath(key); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason)
	}
	return nil
}

// ValidatePrefix checks a List prefix: "" lists everything; otherwise the prefix, less one
// trailing slash, must obey the rules of ValidateKey (its last segment may be a partial one, as
// in "snapshots/2024-0"). The error wraps ErrInvalidKey.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if reason := checkPath(strings.TrimSuffix(prefix, "/")); reason != "" {
		return fmt.Errorf("%w: prefix %q: %s", ErrInvalidKey, prefix, reason)
	}
	return nil
}

// checkPath returns why p is not a valid key, or "".
func checkPath(p string) string {
	switch {
	case len(p) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case strings.HasPrefix(p, "/"):
		return "must be relative (no leading slash)"
	case strings.HasSuffix(p, "/"):
		return "trailing slash"
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return "empty path segment"
		case ".", "..":
			return fmt.Sprintf("%q path segment", seg)
		}
		for i := 0; i < len(seg); i++ {
			if !keyByte(seg[i]) {
				return fmt.Sprintf("character %q not allowed (use A-Z a-z 0-9 . _ -)", seg[i])
			}
		}
	}
	return ""
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// RetryableError marks a transient backend failure (a timeout, a throttled or reset request)
// after which the same operation may succeed. Backends return &RetryableError{Err: err}.
type RetryableError struct {
	Err error
}

func (e *RetryableError) Error() string {
	if e.Err == nil {
		return "blob: retryable error"
	}
	return e.Err.Error()
}

func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is marked with RetryableError. The sentinel errors of this
// package and context cancellation are never retryable, even when so marked: retrying cannot
// change their outcome.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	for _, final := range []error{
		ErrNotFound, ErrAlreadyExists, ErrInvalidRange, ErrInvalidKey, ErrLocked, ErrRetentionUnsupported,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, final) {
			return false
		}
	}
	var re *RetryableError
	return errors.As(err, &re)
}
