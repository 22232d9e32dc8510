// Package blobtest is the conformance suite for blob.Storage backends. It is test support only:
// a backend's _test.go calls Run with a constructor for fresh, empty storage.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
)

// Run runs every conformance check as a subtest of t. newStorage must return an empty Storage
// that no other subtest uses; it may register cleanups on the t it is given.
func Run(t *testing.T, newStorage func(t *testing.T) blob.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Storage)
	}{
		{"RoundTrip", testRoundTrip},
		{"GetRange", testGetRange},
		{"Overwrite", testOverwrite},
		{"IfNotExists", testIfNotExists},
		{"IfNotExistsRace", testIfNotExistsRace},
		{"List", testList},
		{"ListStopsOnError", testListStopsOnError},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"CancelledPut", testCancelledPut},
		{"FailingReader", testFailingReader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStorage(t)) })
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, s blob.Storage, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s blob.Storage, key string, offset, length int64) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(t.Context(), key, offset, length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func mustGet(t *testing.T, s blob.Storage, key string) []byte {
	t.Helper()
	b, err := get(t, s, key, 0, -1)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b
}

func listKeys(t *testing.T, s blob.Storage, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := s.List(t.Context(), prefix, func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func testRoundTrip(t *testing.T, s blob.Storage) {
	for _, tc := range []struct {
		key  string
		data []byte
	}{
		{"empty", []byte{}},
		{"small/object.txt", []byte("hello, cairn")},
		{"big/random_5MiB.bin", randomBytes(t, 5<<20)},
	} {
		put(t, s, tc.key, tc.data)
		if got := mustGet(t, s, tc.key); !bytes.Equal(got, tc.data) {
			t.Errorf("Get(%q) returned %d bytes that differ from the %d put", tc.key, len(got), len(tc.data))
		}
		info, err := s.Stat(t.Context(), tc.key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", tc.key, err)
		}
		if info.Key != tc.key || info.Size != int64(len(tc.data)) || info.ModTime.IsZero() {
			t.Errorf("Stat(%q) = %+v, want key %q size %d and a modification time", tc.key, info, tc.key, len(tc.data))
		}
	}
}

func testGetRange(t *testing.T, s blob.Storage) {
	data := randomBytes(t, 1000)
	put(t, s, "r", data)
	for _, tc := range []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"start", 0, 10, data[:10]},
		{"middle", 400, 200, data[400:600]},
		{"to end", 900, -1, data[900:]},
		{"exactly to end", 900, 100, data[900:]},
		{"whole", 0, -1, data},
		{"zero length", 500, 0, []byte{}},
		{"offset at size", 1000, -1, []byte{}},
		{"offset at size, zero length", 1000, 0, []byte{}},
	} {
		got, err := get(t, s, "r", tc.offset, tc.length)
		if err != nil {
			t.Errorf("%s: Get(offset %d, length %d): %v", tc.name, tc.offset, tc.length, err)
			continue
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: Get(offset %d, length %d) returned %d bytes, want %d equal to the object's", tc.name, tc.offset, tc.length, len(got), len(tc.want))
		}
	}
	for _, tc := range []struct {
		name           string
		offset, length int64
	}{
		{"offset past size", 1001, -1},
		{"offset far past size", 1 << 40, 1},
		{"length past end", 900, 101},
		{"offset at size, length 1", 1000, 1},
		{"negative offset", -1, 10},
	} {
		if _, err := get(t, s, "r", tc.offset, tc.length); !errors.Is(err, blob.ErrInvalidRange) {
			t.Errorf("%s: Get(offset %d, length %d) error = %v, want ErrInvalidRange", tc.name, tc.offset, tc.length, err)
		}
	}
	if _, err := get(t, s, "missing", 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testOverwrite(t *testing.T, s blob.Storage) {
	put(t, s, "o/key", []byte("first version, longer"))
	put(t, s, "o/key", []byte("second"))
	if got := mustGet(t, s, "o/key"); string(got) != "second" {
		t.Errorf("after overwrite Get = %q, want %q", got, "second")
	}
	if info, err := s.Stat(t.Context(), "o/key"); err != nil || info.Size != int64(len("second")) {
		t.Errorf("after overwrite Stat = %+v, %v, want size %d", info, err, len("second"))
	}
}

func testIfNotExists(t *testing.T, s blob.Storage) {
	ctx := t.Context()
	if err := s.Put(ctx, "x/once", strings.NewReader("original"), blob.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("first IfNotExists Put: %v", err)
	}
	err := s.Put(ctx, "x/once", strings.NewReader("intruder"), blob.PutOptions{IfNotExists: true})
	if !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("second IfNotExists Put error = %v, want ErrAlreadyExists", err)
	}
	if got := mustGet(t, s, "x/once"); string(got) != "original" {
		t.Errorf("after refused Put Get = %q, want %q", got, "original")
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"x/once"}) {
		t.Errorf("after refused Put List = %q, want only x/once", keys)
	}
}

func testIfNotExistsRace(t *testing.T, s blob.Storage) {
	const writers = 8
	var (
		start sync.WaitGroup
		done  sync.WaitGroup
		errs  [writers]error
		datas [writers][]byte
	)
	start.Add(1)
	for i := range writers {
		datas[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %d;", i)), 10000+i)
		done.Go(func() {
			start.Wait()
			errs[i] = s.Put(t.Context(), "race/key", bytes.NewReader(datas[i]), blob.PutOptions{IfNotExists: true})
		})
	}
	start.Done()
	done.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, blob.ErrAlreadyExists):
			t.Errorf("writer %d: error = %v, want ErrAlreadyExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	if got := mustGet(t, s, "race/key"); !bytes.Equal(got, datas[winner]) {
		t.Errorf("stored object (%d bytes) is not the winner's (writer %d, %d bytes)", len(got), winner, len(datas[winner]))
	}
}

func testList(t *testing.T, s blob.Storage) {
	// Prefixes chosen so that directory-walk order differs from lexical key order.
	prefixes := []string{"p1/", "p1/sub/", "p1-x/", "p1.y/", "p10/", "p2/", "q/r/s/", "top-"}
	var all []string
	for i := range 300 {
		key := fmt.Sprintf("%sk%03d", prefixes[i%len(prefixes)], i)
		put(t, s, key, []byte(key))
		all = append(all, key)
	}
	slices.Sort(all)

	for _, prefix := range []string{"", "p1/", "p1", "p1/sub/", "q/", "q/r/s/k0", "top-", "nothing/", "zz", "p1/sub/none"} {
		var want []string
		for _, k := range all {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		var got []string
		err := s.List(t.Context(), prefix, func(info blob.Info) error {
			got = append(got, info.Key)
			if info.Size != int64(len(info.Key)) {
				t.Errorf("List(%q): %s has size %d, want %d", prefix, info.Key, info.Size, len(info.Key))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) returned %d keys, want %d in lexical order\n got: %q\nwant: %q", prefix, len(got), len(want), got, want)
		}
	}
	if len(listKeys(t, s, "")) != 300 {
		t.Errorf("List(\"\") does not return all 300 keys")
	}
}

func testListStopsOnError(t *testing.T, s blob.Storage) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("l/%d", i), []byte("x"))
	}
	stop := errors.New("stop here")
	var seen []string
	err := s.List(t.Context(), "", func(info blob.Info) error {
		seen = append(seen, info.Key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List error = %v, want the callback's error", err)
	}
	if !slices.Equal(seen, []string{"l/0", "l/1"}) {
		t.Errorf("List called fn for %q after it failed; want only l/0, l/1", seen)
	}
}

func testDelete(t *testing.T, s blob.Storage) {
	ctx := t.Context()
	put(t, s, "d/a/b", []byte("bye"))
	put(t, s, "d/keep", []byte("stay"))
	if err := s.Delete(ctx, "d/a/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := get(t, s, "d/a/b", 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get after Delete error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "d/a/b"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after Delete error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "d/a/b"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("second Delete error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "never/existed"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "never/existed"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(missing) error = %v, want ErrNotFound", err)
	}
	// Names that are only directories in path-like backends are not objects either.
	if _, err := s.Stat(ctx, "d"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat of a key prefix error = %v, want ErrNotFound", err)
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"d/keep"}) {
		t.Errorf("after Delete List = %q, want only d/keep", keys)
	}
	// The key is reusable, even with IfNotExists.
	if err := s.Put(ctx, "d/a/b", strings.NewReader("again"), blob.PutOptions{IfNotExists: true}); err != nil {
		t.Errorf("Put after Delete: %v", err)
	}
}

func testInvalidKeys(t *testing.T, s blob.Storage) {
	ctx := t.Context()
	for _, key := range []string{"", "/abs", "a//b", "../x", "a/./b", "a/..", "trailing/", "sp ace", "back\\slash"} {
		if err := s.Put(ctx, key, strings.NewReader("x"), blob.PutOptions{}); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Stat(%q) error = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) error = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/", "/abs", "../", "a/../b", "a//"} {
		err := s.List(ctx, prefix, func(blob.Info) error { return nil })
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("List(%q) error = %v, want ErrInvalidKey", prefix, err)
		}
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("invalid Puts stored %q", keys)
	}
}

// cancellingReader returns data forever and cancels its context once it has returned after bytes.
type cancellingReader struct {
	cancel context.CancelFunc
	after  int
	n      int
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if r.n >= r.after {
		r.cancel()
	}
	p = p[:min(len(p), 16<<10)]
	for i := range p {
		p[i] = byte(r.n + i)
	}
	r.n += len(p)
	return len(p), nil
}

func testCancelledPut(t *testing.T, s blob.Storage) {
	put(t, s, "c/existing", []byte("old content"))
	for _, key := range []string{"c/new", "c/existing"} {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Put(ctx, key, &cancellingReader{cancel: cancel, after: 64 << 10}, blob.PutOptions{})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Put(%q) error = %v, want context.Canceled", key, err)
		}
	}
	if _, err := s.Stat(t.Context(), "c/new"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after cancelled Put error = %v, want ErrNotFound", err)
	}
	if got := mustGet(t, s, "c/existing"); string(got) != "old content" {
		t.Errorf("cancelled overwrite left %d bytes, want the old content", len(got))
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"c/existing"}) {
		t.Errorf("after cancelled Put List = %q, want only c/existing", keys)
	}
}

// failingReader returns size bytes and then err.
type failingReader struct {
	size int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.size == 0 {
		return 0, r.err
	}
	n := min(len(p), r.size)
	clear(p[:n])
	r.size -= n
	return n, nil
}

func testFailingReader(t *testing.T, s blob.Storage) {
	boom := errors.New("disk on fire")
	for _, opts := range []blob.PutOptions{{}, {IfNotExists: true}} {
		err := s.Put(t.Context(), "f/obj", &failingReader{size: 200 << 10, err: boom}, opts)
		if !errors.Is(err, boom) {
			t.Fatalf("Put(%+v) with failing reader error = %v, want the reader's error", opts, err)
		}
		if _, err := s.Stat(t.Context(), "f/obj"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat after failed Put error = %v, want ErrNotFound", err)
		}
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("failed Put left %q", keys)
	}
}
