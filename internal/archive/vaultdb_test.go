package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// dbBytes is a stand-in database file of n bytes, partly incompressible.
func dbBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		if i%3 == 0 {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

func TestVaultDBCopyRoundTrip(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		r, _ := newRepo(t, encrypt)
		taken := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
		db := dbBytes(2*vaultDBPartBytes + 12345)
		c, err := r.PutVaultDB(t.Context(), VaultDBCopy{Name: VaultDBName(taken), TakenAt: taken, Engine: "sqlite", SchemaVersion: 19},
			bytes.NewReader(db))
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "20261205-230000" || len(c.Parts) != 3 || c.Size != int64(len(db)) {
			t.Fatalf("copy: %+v", c)
		}
		var out bytes.Buffer
		got, err := r.GetVaultDB(t.Context(), c.Name, &out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), db) || got.SchemaVersion != 19 || got.Engine != "sqlite" {
			t.Fatalf("read back %d bytes, manifest %+v", out.Len(), got)
		}
	}
}

func TestVaultDBCopiesListsIncompleteAndDeletes(t *testing.T) {
	r, st := newRepo(t, true)
	ctx := t.Context()
	first, second := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{second, first} {
		if _, err := r.PutVaultDB(ctx, VaultDBCopy{Name: VaultDBName(at), TakenAt: at, Engine: "sqlite"}, bytes.NewReader(dbBytes(1000))); err != nil {
			t.Fatal(err)
		}
	}
	// A copy that stopped after its first part.
	if err := st.Put(ctx, "vault-db/20261206-000000/parts/000001", strings.NewReader("x"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := r.VaultDBCopies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "20261205-220000" || list[1].Copy == nil || list[2].Copy != nil || !strings.Contains(list[2].Problem, "incomplete") {
		t.Fatalf("listing: %+v", list)
	}
	for _, name := range []string{"20261205-220000", "20261206-000000"} {
		if err := r.DeleteVaultDB(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	list, err = r.VaultDBCopies(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "20261205-230000" {
		t.Fatalf("after deleting: %+v, %v", list, err)
	}
	if _, err := r.GetVaultDB(ctx, "20261205-220000", io.Discard); !errors.Is(err, ErrVaultDBNotFound) {
		t.Fatalf("deleted copy read: %v", err)
	}
}

func TestVaultDBCopyTamperingIsDetected(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	put := func(t *testing.T) (*Repository, blob.Storage) {
		r, st := newRepo(t, true)
		if _, err := r.PutVaultDB(ctx, VaultDBCopy{Name: VaultDBName(at), TakenAt: at}, bytes.NewReader(dbBytes(vaultDBPartBytes+10))); err != nil {
			t.Fatal(err)
		}
		return r, st
	}
	cases := map[string]func(t *testing.T, st blob.Storage){
		"part changed": func(t *testing.T, st blob.Storage) {
			data := readBlob(t, st, "vault-db/20261205-230000/parts/000002")
			data[len(data)-1] ^= 1
			writeBlob(t, st, "vault-db/20261205-230000/parts/000002", data)
		},
		"parts swapped": func(t *testing.T, st blob.Storage) {
			one, two := readBlob(t, st, "vault-db/20261205-230000/parts/000001"), readBlob(t, st, "vault-db/20261205-230000/parts/000002")
			writeBlob(t, st, "vault-db/20261205-230000/parts/000001", two)
			writeBlob(t, st, "vault-db/20261205-230000/parts/000002", one)
		},
		"part missing": func(t *testing.T, st blob.Storage) {
			if err := st.Delete(ctx, "vault-db/20261205-230000/parts/000002"); err != nil {
				t.Fatal(err)
			}
		},
		"manifest moved to another name": func(t *testing.T, st blob.Storage) {
			writeBlob(t, st, "vault-db/20261205-230001/manifest", readBlob(t, st, "vault-db/20261205-230000/manifest"))
			if err := st.Delete(ctx, "vault-db/20261205-230000/manifest"); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			r, st := put(t)
			tamper(t, st)
			_, err1 := r.GetVaultDB(ctx, "20261205-230000", io.Discard)
			_, err2 := r.GetVaultDB(ctx, "20261205-230001", io.Discard)
			if err1 == nil || err2 == nil {
				t.Fatalf("tampered copy read: %v, %v", err1, err2)
			}
		})
	}
}

func readBlob(t *testing.T, st blob.Storage, key string) []byte {
	t.Helper()
	data, err := blob.ReadAll(context.Background(), st, key, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeBlob(t *testing.T, st blob.Storage, key string, data []byte) {
	t.Helper()
	if err := st.Put(context.Background(), key, bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}
