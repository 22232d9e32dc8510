package fault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

var errBoom = errors.New("boom")

func seeded(t *testing.T, keys ...string) *memory.Storage {
	t.Helper()
	m := memory.New()
	for _, k := range keys {
		if err := m.Put(t.Context(), k, strings.NewReader("data of "+k), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestTimes(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "stat", Times: 2, Err: errBoom})
	for i := range 4 {
		_, err := s.Stat(t.Context(), "k")
		if want := i < 2; errors.Is(err, errBoom) != want {
			t.Errorf("Stat #%d error = %v, want failure %v", i+1, err, want)
		}
	}
	if got := s.Calls("stat"); got != 4 {
		t.Errorf("Calls(stat) = %d, want 4", got)
	}
	if _, err := s.Get(t.Context(), "k", 0, -1); err != nil {
		t.Errorf("Get affected by a stat fault: %v", err)
	}
}

func TestTimesZeroMeansOnce(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "delete", Err: errBoom})
	if err := s.Delete(t.Context(), "k"); !errors.Is(err, errBoom) {
		t.Fatalf("first Delete error = %v, want %v", err, errBoom)
	}
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestForever(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "*", Times: -1, Err: errBoom})
	for range 20 {
		if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, errBoom) {
			t.Fatalf("Stat error = %v, want %v", err, errBoom)
		}
	}
	if err := s.List(t.Context(), "", func(blob.Info) error { return nil }); !errors.Is(err, errBoom) {
		t.Errorf("List error = %v, want %v", err, errBoom)
	}
	if got := s.Calls("*"); got != 21 {
		t.Errorf("Calls(*) = %d, want 21", got)
	}
}

func TestKeyPrefix(t *testing.T) {
	s := fault.New(seeded(t, "a/x", "b/x"), fault.Fault{Op: "*", KeyPrefix: "a/", Times: -1, Err: errBoom})
	ctx := t.Context()
	if _, err := s.Stat(ctx, "a/x"); !errors.Is(err, errBoom) {
		t.Errorf("Stat(a/x) error = %v, want %v", err, errBoom)
	}
	if _, err := s.Stat(ctx, "b/x"); err != nil {
		t.Errorf("Stat(b/x): %v", err)
	}
	if err := s.List(ctx, "a/x", func(blob.Info) error { return nil }); !errors.Is(err, errBoom) {
		t.Errorf("List(a/x) error = %v, want %v", err, errBoom)
	}
	if err := s.List(ctx, "", func(blob.Info) error { return nil }); err != nil {
		t.Errorf("List(\"\"): %v", err)
	}
}

func TestAddAndOrder(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "get", Err: first})
	s.Add(fault.Fault{Op: "get", Err: second})
	for _, want := range []error{first, second, nil} {
		rc, err := s.Get(t.Context(), "k", 0, -1)
		if !errors.Is(err, want) {
			t.Fatalf("Get error = %v, want %v", err, want)
		}
		if rc != nil {
			rc.Close()
		}
	}
}

func TestMidStreamPutLeavesNoObject(t *testing.T) {
	m := memory.New()
	s := fault.New(m, fault.Fault{Op: "put", AfterBytes: 100, Err: errBoom})
	err := s.Put(t.Context(), "obj", bytes.NewReader(make([]byte, 1000)), blob.PutOptions{})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Put error = %v, want %v", err, errBoom)
	}
	if _, err := m.Stat(t.Context(), "obj"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after failed Put error = %v, want ErrNotFound", err)
	}
	// The fault is used up: the next Put goes through.
	if err := s.Put(t.Context(), "obj", bytes.NewReader(make([]byte, 1000)), blob.PutOptions{}); err != nil {
		t.Fatalf("second Put: %v", err)
	}
}

func TestMidStreamGet(t *testing.T) {
	m := memory.New()
	data := bytes.Repeat([]byte("0123456789"), 100)
	if err := m.Put(t.Context(), "obj", bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s := fault.New(m, fault.Fault{Op: "get", AfterBytes: 250, Err: errBoom})
	rc, err := s.Get(t.Context(), "obj", 0, -1)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, errBoom) {
		t.Errorf("reading error = %v, want %v", err, errBoom)
	}
	if !bytes.Equal(got, data[:250]) {
		t.Errorf("read %d bytes before the failure, want the first 250", len(got))
	}
}

func TestDelayHonoursContext(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "stat", Delay: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Stat(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stat error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("cancelled Stat took %v", d)
	}
}

func TestDelayOnly(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "stat", Delay: 20 * time.Millisecond})
	start := time.Now()
	if _, err := s.Stat(t.Context(), "k"); err != nil {
		t.Fatalf("delayed Stat: %v", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("delayed Stat took %v, want at least 20ms", d)
	}
}

func TestConcurrent(t *testing.T) {
	s := fault.New(seeded(t, "k"), fault.Fault{Op: "stat", Times: 10, Err: errBoom})
	var failed atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := s.Stat(t.Context(), "k"); errors.Is(err, errBoom) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 10 || s.Calls("stat") != 50 {
		t.Errorf("%d of %d calls failed, want 10 of 50", failed.Load(), s.Calls("stat"))
	}
}

func TestUnknownOpPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Add with an unknown op did not panic")
		}
	}()
	fault.New(memory.New()).Add(fault.Fault{Op: "Put"})
}
