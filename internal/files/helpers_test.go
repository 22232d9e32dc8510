package files

import (
	"context"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

var testKDF = archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}

// newTestStore makes a file store over st (in memory when nil).
func newTestStore(t testing.TB, st blob.Storage) *Store {
	t.Helper()
	if st == nil {
		st = memory.New()
	}
	repo, err := archive.Init(context.Background(), st, archive.Credential{Passphrase: []byte("test")},
		archive.InitOptions{Encrypt: true, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
