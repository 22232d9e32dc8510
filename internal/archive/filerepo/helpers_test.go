package filerepo

import (
	"context"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

var testKDF = archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}

// newTestRepo makes an in-memory repository, encrypted or not, and its file-store keys.
func newTestRepo(t testing.TB, encrypt bool) (*archive.Repository, *Keys, *Codec) {
	t.Helper()
	repo, err := archive.Init(context.Background(), memory.New(), archive.Credential{Passphrase: []byte("test")},
		archive.InitOptions{Encrypt: encrypt, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(repo.FileKeys())
	if err != nil {
		t.Fatal(err)
	}
	codec, err := NewCodec(keys)
	if err != nil {
		t.Fatal(err)
	}
	return repo, keys, codec
}
