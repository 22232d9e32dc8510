package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/blob/ratelimit"
)

// Real time is unavoidable here; only lower bounds are asserted, with margin, and upper bounds
// only where the alternative is waiting an hour.

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage {
		return ratelimit.New(memory.New(), 1e6, 1000, 1<<30)
	})
}

func TestOpsSpaced(t *testing.T) {
	s := ratelimit.New(memory.New(), 100, 1, 0)
	start := time.Now()
	for range 20 {
		if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
	}
	// 19 waits of 10ms after the first, free token.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("20 ops at 100/s took %v, want at least ~190ms", d)
	}
}

func TestBytesThrottled(t *testing.T) {
	m := memory.New()
	s := ratelimit.New(m, 0, 0, 4<<20)
	data := bytes.Repeat([]byte("x"), 1<<20)

	start := time.Now()
	if err := s.Put(t.Context(), "obj", bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("Put of 1 MiB at 4 MiB/s took %v, want at least ~240ms", d)
	}

	start = time.Now()
	rc, err := s.Get(t.Context(), "obj", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes, %v; want the %d put", len(got), err, len(data))
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("Get of 1 MiB at 4 MiB/s took %v, want at least ~240ms", d)
	}
}

func TestSeekerKept(t *testing.T) {
	m := &seekerCheck{Storage: memory.New()}
	s := ratelimit.New(m, 0, 0, 1<<30)
	if err := s.Put(t.Context(), "obj", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if !m.seekable {
		t.Error("the body a seekable reader was throttled into is not an io.Seeker")
	}
}

type seekerCheck struct {
	blob.Storage
	seekable bool
}

func (c *seekerCheck) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	_, c.seekable = r.(io.Seeker)
	return c.Storage.Put(ctx, key, r, opts)
}

func TestCancelWhileWaitingForOp(t *testing.T) {
	s := ratelimit.New(memory.New(), 0.001, 1, 0)
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err) // the burst token
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("cancelled Stat returned after %v", d)
	}

	// A wait that would outlast the deadline fails at once, as the deadline would.
	ctx, cancel = context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Delete error = %v, want context.DeadlineExceeded", err)
	}
}

func TestCancelWhileWaitingForBytes(t *testing.T) {
	m := memory.New()
	if err := m.Put(t.Context(), "obj", bytes.NewReader(make([]byte, 1<<20)), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s := ratelimit.New(m, 0, 0, 1024)
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := s.Get(ctx, "obj", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Errorf("reading error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("cancelled read returned after %v", d)
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	err = s.Put(ctx, "new", bytes.NewReader(make([]byte, 1<<20)), blob.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put error = %v, want context.Canceled", err)
	}
	if _, err := m.Stat(t.Context(), "new"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after cancelled Put error = %v, want ErrNotFound", err)
	}
}
