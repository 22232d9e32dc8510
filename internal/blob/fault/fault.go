// Package fault is a blob.Storage decorator that injects failures and latency, to test how code
// above a backend copes with a flaky one (5xx bursts, reset connections, slow responses). It is
// test support: only tests import it.
package fault

import (
	"context"
	"fmt"
	"io"
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

// Operation names, as used in Fault.Op and Calls.
var ops = []string{"put", "get", "stat", "list", "delete", "retention"}

// Fault describes one injected misbehaviour. A call is affected by the first fault, in the order
// they were added, that matches it and has not run out of Times.
type Fault struct {
	// Op is the operation affected: "put", "get", "stat", "list", "delete", "retention" (the
	// blob.Locker method), or "*" for all.
	Op string
	// KeyPrefix restricts the fault to keys with this prefix; for List, to list prefixes that
	// start with it. "" matches everything.
	KeyPrefix string
	// Times is how many matching calls the fault affects before it lets calls pass; -1 means
	// forever, and 0 counts as 1 so that a Fault with Times unset fires once.
	Times int
	// Err is what an affected call returns without reaching the inner storage, e.g.
	// &blob.RetryableError{Err: ...} for a 5xx. With Err nil the fault only delays the call.
	Err error
	// Delay is slept, ctx-aware, before an affected call proceeds or fails.
	Delay time.Duration
	// AfterBytes, when positive and Err is set, makes an affected put or get fail mid-stream
	// instead: the body read by Put, or returned by Get, fails with Err once this many bytes have
	// passed. A body shorter than that never fails (the fault is used up all the same).
	AfterBytes int64
}

type active struct {
	Fault
	left int // calls still to affect; < 0 forever
}

// Storage wraps another Storage and applies its faults. It is safe for concurrent use.
type Storage struct {
	inner blob.Storage

	mu     sync.Mutex
	faults []*active
	calls  map[string]int
}

// New returns inner with faults applied. It panics on a Fault with an unknown Op.
func New(inner blob.Storage, faults ...Fault) *Storage {
	s := &Storage{inner: inner, calls: map[string]int{}}
	for _, f := range faults {
		s.Add(f)
	}
	return s
}

// Add appends a fault; it applies from the next call. It panics on an unknown Op.
func (s *Storage) Add(f Fault) {
	if f.Op != "*" && !slices.Contains(ops, f.Op) {
		panic(fmt.Sprintf("fault: unknown op %q (want one of %q or \"*\")", f.Op, ops))
	}
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &active{Fault: f, left: left})
}

// Calls reports how many calls of op s has received, affected or not; "*" counts all ops.
func (s *Storage) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "*" {
		n := 0
		for _, c := range s.calls {
			n += c
		}
		return n
	}
	return s.calls[op]
}

// String implements blob.Storage.
func (s *Storage) String() string { return s.inner.String() }

// begin counts the call and returns the fault that affects it, if any, after its delay.
func (s *Storage) begin(ctx context.Context, op, key string) (*Fault, error) {
	s.mu.Lock()
	s.calls[op]++
	var hit *Fault
	for _, a := range s.faults {
		if a.left != 0 && (a.Op == "*" || a.Op == op) && strings.HasPrefix(key, a.KeyPrefix) {
			if a.left > 0 {
				a.left--
			}
			f := a.Fault
			hit = &f
			break
		}
	}
	s.mu.Unlock()
	if hit == nil {
		return nil, nil
	}
	if hit.Delay > 0 {
		t := time.NewTimer(hit.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: %w", op, key, ctx.Err())
		case <-t.C:
		}
	}
	return hit, nil
}

// fails reports whether f fails the call outright, before it reaches the inner storage.
func (f *Fault) fails() bool { return f != nil && f.Err != nil && f.AfterBytes <= 0 }

// err is the injected error, named like a backend's.
func (f *Fault) err(op, key string) error { return fmt.Errorf("%s %s: %w", op, key, f.Err) }

// midStream reports whether f fails the body of a put or get.
func (f *Fault) midStream() bool { return f != nil && f.Err != nil && f.AfterBytes > 0 }

// Put implements blob.Storage.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	f, err := s.begin(ctx, "put", key)
	switch {
	case err != nil:
		return err
	case f.fails():
		return f.err("put", key)
	case f.midStream():
		r = &failingReader{r: r, left: f.AfterBytes, err: f.Err}
	}
	return s.inner.Put(ctx, key, r, opts)
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	f, err := s.begin(ctx, "get", key)
	switch {
	case err != nil:
		return nil, err
	case f.fails():
		return nil, f.err("get", key)
	}
	rc, err := s.inner.Get(ctx, key, offset, length)
	if err != nil || !f.midStream() {
		return rc, err
	}
	return struct {
		io.Reader
		io.Closer
	}{&failingReader{r: rc, left: f.AfterBytes, err: f.Err}, rc}, nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	f, err := s.begin(ctx, "stat", key)
	switch {
	case err != nil:
		return blob.Info{}, err
	case f.fails():
		return blob.Info{}, f.err("stat", key)
	}
	return s.inner.Stat(ctx, key)
}

// List implements blob.Storage.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	f, err := s.begin(ctx, "list", prefix)
	switch {
	case err != nil:
		return err
	case f.fails():
		return f.err("list", prefix)
	}
	return s.inner.List(ctx, prefix, fn)
}

// Delete implements blob.Storage.
func (s *Storage) Delete(ctx context.Context, key string) error {
	f, err := s.begin(ctx, "delete", key)
	switch {
	case err != nil:
		return err
	case f.fails():
		return f.err("delete", key)
	}
	return s.inner.Delete(ctx, key)
}

// Retention implements blob.Locker by asking the inner Storage (see blob.RetentionOf).
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	f, err := s.begin(ctx, "retention", key)
	switch {
	case err != nil:
		return time.Time{}, err
	case f.fails():
		return time.Time{}, f.err("retention", key)
	}
	return blob.RetentionOf(ctx, s.inner, key)
}

// ExtendRetention implements blob.Locker by asking the inner Storage (see blob.ExtendRetention).
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	f, err := s.begin(ctx, "extend-retention", key)
	switch {
	case err != nil:
		return err
	case f.fails():
		return f.err("extend-retention", key)
	}
	return blob.ExtendRetention(ctx, s.inner, key, until)
}

// failingReader passes left bytes of r through, then fails with err.
type failingReader struct {
	r    io.Reader
	left int64
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, r.err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	return n, err
}
