package blob_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

// notLocker is a Storage without the Locker method.
type notLocker struct{ blob.Storage }

func TestRetentionOf(t *testing.T) {
	m := memory.New()
	until := time.Now().Add(time.Hour)
	if err := m.Put(t.Context(), "k", strings.NewReader("x"), blob.PutOptions{RetainUntil: until}); err != nil {
		t.Fatal(err)
	}
	if got, err := blob.RetentionOf(t.Context(), m, "k"); err != nil || !got.Equal(until) {
		t.Errorf("RetentionOf(memory) = %v, %v, want %v", got, err, until)
	}
	_, err := blob.RetentionOf(t.Context(), notLocker{m}, "k")
	if !errors.Is(err, blob.ErrRetentionUnsupported) || !strings.Contains(err.Error(), "mem://") {
		t.Errorf("RetentionOf(not a Locker) error = %v, want ErrRetentionUnsupported naming the store", err)
	}
}

func TestCheckRetainUntil(t *testing.T) {
	now := time.Now()
	for _, until := range []time.Time{{}, now.Add(time.Nanosecond), now.Add(time.Hour)} {
		if err := blob.CheckRetainUntil("k", until, now); err != nil {
			t.Errorf("CheckRetainUntil(%v) = %v, want nil", until, err)
		}
	}
	for _, until := range []time.Time{now, now.Add(-time.Hour)} {
		if err := blob.CheckRetainUntil("k", until, now); err == nil || !strings.Contains(err.Error(), "put k:") {
			t.Errorf("CheckRetainUntil(%v) = %v, want an error naming the key", until, err)
		}
	}
	err := blob.LockedError("delete", "a/b", now)
	if !errors.Is(err, blob.ErrLocked) || !strings.HasPrefix(err.Error(), "delete a/b: locked until ") {
		t.Errorf("LockedError = %q", err)
	}
}

func TestRoundUpToSecond(t *testing.T) {
	whole := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := blob.RoundUpToSecond(whole); !got.Equal(whole) {
		t.Errorf("RoundUpToSecond(%v) = %v", whole, got)
	}
	if got := blob.RoundUpToSecond(whole.Add(time.Millisecond)); !got.Equal(whole.Add(time.Second)) {
		t.Errorf("RoundUpToSecond(%v) = %v, want the next second", whole.Add(time.Millisecond), got)
	}
}
