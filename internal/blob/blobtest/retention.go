package blobtest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// RetentionPeriod is how long RunRetention locks its objects. It is short so that a backend
// with a real clock can be tested by sleeping, yet long enough for the checks made while the
// objects are locked.
const RetentionPeriod = 4 * time.Second

// RunRetention checks a Storage that enforces retention periods (blob.PutOptions.RetainUntil).
// newStorage must return an empty Storage whose clock follows time.Now until advance is called;
// advance(d) must make d pass for it: by moving a fake clock forward, or by sleeping for a
// backend with a real one. advance is called once, after the checks made while the objects are
// locked, with a little more than RetentionPeriod. blob.ExtendRetention is checked on the same
// objects: it locks an unlocked one, lengthens a period and never shortens one.
func RunRetention(t *testing.T, newStorage func(t *testing.T) blob.Storage, advance func(d time.Duration)) {
	s := newStorage(t)
	ctx := t.Context()
	began := time.Now()
	until := began.Add(RetentionPeriod)
	locked := blob.PutOptions{RetainUntil: until}
	for _, tc := range []struct {
		key  string
		opts blob.PutOptions
	}{
		{"lock/a", locked},
		{"lock/b", blob.PutOptions{RetainUntil: until, IfNotExists: true}},
		{"plain", blob.PutOptions{}},
	} {
		if err := s.Put(ctx, tc.key, strings.NewReader("data of "+tc.key), tc.opts); err != nil {
			t.Fatalf("Put(%q, %+v): %v", tc.key, tc.opts, err)
		}
	}

	t.Run("Retention", func(t *testing.T) {
		checkRetention(t, s, "lock/a", until)
		checkRetention(t, s, "lock/b", until)
		checkRetention(t, s, "plain", time.Time{})
	})
	t.Run("DeleteRefused", func(t *testing.T) {
		for _, key := range []string{"lock/a", "lock/b"} {
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrLocked) {
				t.Errorf("Delete(%q) of a locked object error = %v, want ErrLocked", key, err)
			} else if !strings.Contains(err.Error(), key) {
				t.Errorf("Delete(%q) error %q does not name the key", key, err)
			}
		}
	})
	t.Run("OverwriteRefused", func(t *testing.T) {
		for _, opts := range []blob.PutOptions{{}, locked, {RetainUntil: until.Add(time.Hour)}} {
			if err := s.Put(ctx, "lock/a", strings.NewReader("intruder"), opts); !errors.Is(err, blob.ErrLocked) {
				t.Errorf("overwriting Put(%+v) of a locked object error = %v, want ErrLocked", opts, err)
			}
		}
		for _, opts := range []blob.PutOptions{{IfNotExists: true}, {IfNotExists: true, RetainUntil: until}} {
			if err := s.Put(ctx, "lock/a", strings.NewReader("intruder"), opts); !errors.Is(err, blob.ErrAlreadyExists) {
				t.Errorf("Put(%+v) of a locked object error = %v, want ErrAlreadyExists", opts, err)
			}
		}
	})
	t.Run("StillReadable", func(t *testing.T) {
		for _, key := range []string{"lock/a", "lock/b"} {
			if got := mustGet(t, s, key); string(got) != "data of "+key {
				t.Errorf("Get(%q) of a locked object = %q, want %q", key, got, "data of "+key)
			}
			if info, err := s.Stat(ctx, key); err != nil || info.Size != int64(len("data of "+key)) {
				t.Errorf("Stat(%q) = %+v, %v", key, info, err)
			}
		}
		if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"lock/a", "lock/b", "plain"}) {
			t.Errorf("List = %q, want lock/a, lock/b, plain", keys)
		}
	})
	t.Run("UnlockedDeletable", func(t *testing.T) {
		if err := s.Delete(ctx, "plain"); err != nil {
			t.Errorf("Delete of an object put without retention: %v", err)
		}
	})
	t.Run("PastRetentionRefused", func(t *testing.T) {
		err := s.Put(ctx, "past", strings.NewReader("x"), blob.PutOptions{RetainUntil: time.Now().Add(-time.Minute)})
		if err == nil || !strings.Contains(err.Error(), "past") {
			t.Errorf("Put with a retention date in the past error = %v, want an error naming the key", err)
		}
		if _, err := s.Stat(ctx, "past"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat after refused Put error = %v, want ErrNotFound", err)
		}
	})
	t.Run("Extend", func(t *testing.T) {
		if err := s.Put(ctx, "extend", strings.NewReader("data of extend"), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := blob.ExtendRetention(ctx, s, "extend", until); err != nil {
			t.Fatalf("ExtendRetention of an unlocked object: %v", err)
		}
		checkRetention(t, s, "extend", until)
		if err := s.Delete(ctx, "extend"); !errors.Is(err, blob.ErrLocked) {
			t.Errorf("Delete of an object locked by ExtendRetention error = %v, want ErrLocked", err)
		}
		if err := blob.ExtendRetention(ctx, s, "lock/a", until.Add(-time.Second)); err != nil {
			t.Errorf("ExtendRetention to an earlier end: %v", err)
		}
		checkRetention(t, s, "lock/a", until)
		if err := blob.ExtendRetention(ctx, s, "lock/b", until.Add(time.Second)); err != nil {
			t.Errorf("ExtendRetention to a later end: %v", err)
		}
		checkRetention(t, s, "lock/b", until.Add(time.Second))
		if err := blob.ExtendRetention(ctx, s, "missing", until); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("ExtendRetention of a missing key error = %v, want ErrNotFound", err)
		}
		if err := blob.ExtendRetention(ctx, s, "extend", time.Now().Add(-time.Minute)); err == nil || !strings.Contains(err.Error(), "extend") {
			t.Errorf("ExtendRetention to a time in the past error = %v, want an error naming the key", err)
		}
	})
	if took := time.Since(began); took >= RetentionPeriod {
		t.Fatalf("the checks on locked objects took %s, longer than the retention period %s: their results mean nothing", took, RetentionPeriod)
	}

	advance(RetentionPeriod + 2*time.Second)

	t.Run("AfterExpiry", func(t *testing.T) {
		checkRetention(t, s, "lock/a", time.Time{})
		if err := s.Put(ctx, "lock/b", strings.NewReader("new"), blob.PutOptions{}); err != nil {
			t.Errorf("overwriting Put after the retention period: %v", err)
		} else if got := mustGet(t, s, "lock/b"); string(got) != "new" {
			t.Errorf("after overwrite Get = %q, want %q", got, "new")
		}
		for _, key := range []string{"lock/a", "lock/b", "extend"} {
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q) after the retention period: %v", key, err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Stat(%q) after Delete error = %v, want ErrNotFound", key, err)
			}
		}
		if keys := listKeys(t, s, ""); len(keys) != 0 {
			t.Errorf("after deleting everything List = %q", keys)
		}
		// Without IfNotExists: in a versioned bucket the deleted key has a delete marker, which
		// some S3 servers take for an object when asked If-None-Match.
		if err := s.Put(ctx, "lock/a", strings.NewReader("again"), blob.PutOptions{}); err != nil {
			t.Errorf("Put of a deleted locked key: %v", err)
		}
	})
}

// checkRetention checks, when s can report it, that key is locked until want (the zero time:
// not locked). Backends may round a retention date up to whole seconds.
func checkRetention(t *testing.T, s blob.Storage, key string, want time.Time) {
	t.Helper()
	got, err := blob.RetentionOf(t.Context(), s, key)
	switch {
	case errors.Is(err, blob.ErrRetentionUnsupported):
		return
	case err != nil:
		t.Errorf("Retention(%q): %v", key, err)
	case want.IsZero() != got.IsZero(), got.Before(want.Add(-time.Millisecond)), got.After(want.Add(time.Second)):
		t.Errorf("Retention(%q) = %v, want %v", key, got, want)
	}
}
