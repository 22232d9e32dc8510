package blobtest

import (
	"crypto/sha256"
	"hash"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
)

// LargeSize is the object RunLarge streams through a backend: over 2 GiB, so sizes and offsets
// that only fit in 64 bits are exercised.
const LargeSize = 2<<30 + 12345

// RunLarge streams one object of size bytes into the backend from a generator (never held in
// memory by the test), reads it back whole and by a range near the end, and checks both against
// the generator's digest. The integration tier runs it for every backend.
func RunLarge(t *testing.T, s blob.Storage, size int64) {
	t.Helper()
	ctx := t.Context()
	src := newGenerator(size)
	if err := s.Put(ctx, "large/object", src, blob.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("put %d bytes: %v", size, err)
	}
	want := src.digest.Sum(nil)
	info, err := s.Stat(ctx, "large/object")
	if err != nil || info.Size != size {
		t.Fatalf("stat: size %d, %v; want %d", info.Size, err, size)
	}
	rc, err := s.Get(ctx, "large/object", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, rc)
	rc.Close()
	if err != nil || n != size || string(got.Sum(nil)) != string(want) {
		t.Fatalf("read back %d bytes (%v): digest matches = %v", n, err, string(got.Sum(nil)) == string(want))
	}
	// A range past the 2 GiB mark reads the generator's bytes at that offset.
	offset := size - 4096
	rc, err = s.Get(ctx, "large/object", offset, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	ref := newGenerator(size)
	if _, err := io.CopyN(io.Discard, ref, offset); err != nil {
		t.Fatal(err)
	}
	wantTail := make([]byte, 1024)
	if _, err := io.ReadFull(ref, wantTail); err != nil {
		t.Fatal(err)
	}
	if string(tail) != string(wantTail) {
		t.Fatalf("range at offset %d differs from what was written", offset)
	}
	if err := s.Delete(ctx, "large/object"); err != nil {
		t.Fatal(err)
	}
}

// generator yields size pseudo-random bytes from a fixed seed and keeps their digest.
type generator struct {
	rng    *rand.ChaCha8
	left   int64
	digest hash.Hash
}

func newGenerator(size int64) *generator {
	return &generator{rng: rand.NewChaCha8([32]byte{'c', 'a', 'i', 'r', 'n'}), left: size, digest: sha256.New()}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	_, _ = g.rng.Read(p)
	g.digest.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}
