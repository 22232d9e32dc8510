package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

// testKDF keeps argon2id cheap in tests; the format stores whatever parameters were used.
var testKDF = KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}

var pass = Credential{Passphrase: []byte("correct horse battery staple")}

func newRepo(t *testing.T, encrypt bool) (*Repository, blob.Storage) {
	t.Helper()
	st := memory.New()
	r, err := Init(t.Context(), st, pass, InitOptions{Encrypt: encrypt, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	return r, st
}

var (
	cmKey     = GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: "shop"}
	secretKey = GroupKey{Version: "v1", Resource: "secrets", Kind: "Secret", Namespace: "shop"}
	nsKey     = GroupKey{Version: "v1", Resource: "namespaces", Kind: "Namespace"}
)

func item(kind, ns, name, extra string) []byte {
	return fmt.Appendf(nil, `{"apiVersion":"v1","kind":%q,"metadata":{"name":%q,"namespace":%q},"data":{"x":%q}}`, kind, name, ns, extra)
}

// writeBackup writes n ConfigMaps and one Secret from two sinks, and a Namespace.
func writeBackup(t *testing.T, r *Repository, name string, n int) RecoveryPoint {
	t.Helper()
	ctx := t.Context()
	w, err := r.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		s := w.NewSink()
		for i := range n {
			if err := s.Add(ctx, cmKey, true, item("ConfigMap", "shop", fmt.Sprintf("cm-%05d", i), strings.Repeat("v", i%50))); err != nil {
				errs[0] = err
				return
			}
		}
		errs[0] = s.Close(ctx)
	})
	wg.Go(func() {
		s := w.NewSink()
		if err := s.Add(ctx, secretKey, true, item("Secret", "shop", "creds", "TOP-SECRET-VALUE")); err != nil {
			errs[1] = err
			return
		}
		if err := s.Add(ctx, nsKey, false, item("Namespace", "", "shop", "")); err != nil {
			errs[1] = err
			return
		}
		errs[1] = s.Close(ctx)
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	rp, err := w.Commit(ctx, RecoveryPoint{StartedAt: time.Unix(1700000000, 0).UTC(), Result: BackupResult{Phase: PhaseCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func TestRoundTrip(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		t.Run(fmt.Sprintf("encrypt=%v", encrypt), func(t *testing.T) {
			ctx := t.Context()
			r, st := newRepo(t, encrypt)
			writeBackup(t, r, "nightly", 3000)

			r2, err := Open(ctx, st, pass)
			if err != nil {
				t.Fatal(err)
			}
			b, err := r2.OpenBackup(ctx, "nightly")
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Manifest().Result.Items; got != 3002 {
				t.Fatalf("manifest counts %d items, want 3002", got)
			}
			ix, err := b.Index(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[GroupKey]int{}
			for _, g := range ix.Groups {
				err := b.ReadGroup(ctx, g, func(it []byte) error {
					if !bytes.Contains(it, []byte(`"namespace":"`+g.Namespace+`"`)) {
						return fmt.Errorf("item %s in group %v", it, g.GroupKey)
					}
					got[g.GroupKey]++
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if got[cmKey] != 3000 || got[secretKey] != 1 || got[nsKey] != 1 {
				t.Fatalf("read back %v", got)
			}
			rep, err := r2.Verify(ctx, "nightly")
			if err != nil || len(rep.Problems) > 0 {
				t.Fatalf("verify of an intact backup: %v %v", err, rep.Problems)
			}
			secretVisible := storageContains(t, st, "TOP-SECRET-VALUE") || storageContains(t, st, "cm-00001")
			if secretVisible == encrypt {
				t.Fatalf("plaintext visible in storage = %v with encryption = %v", secretVisible, encrypt)
			}
		})
	}
}

// storageContains tells whether any stored blob contains s, after zstd decompression where the
// blob is a zstd frame (unencrypted sections are).
func storageContains(t *testing.T, st blob.Storage, s string) bool {
	t.Helper()
	found := false
	c := newCodec()
	_ = st.List(t.Context(), "", func(info blob.Info) error {
		rc, err := st.Get(t.Context(), info.Key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(data, []byte(s)) {
			found = true
		}
		// An unencrypted pack is zstd frames back to back, which DecodeAll reads as one stream.
		if plain, err := c.sectionDec.DecodeAll(data, nil); err == nil && bytes.Contains(plain, []byte(s)) {
			found = true
		}
		return nil
	})
	return found
}

func TestCredentials(t *testing.T) {
	ctx := t.Context()
	_, st := newRepo(t, true)
	if _, err := Open(ctx, st, Credential{Passphrase: []byte("wrong")}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := Open(ctx, st, Credential{}); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("no credential: %v", err)
	}
	if _, err := Open(ctx, st, Credential{KeyFile: bytes.Repeat([]byte{7}, 32)}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("key file on a passphrase repository: %v", err)
	}

	kst := memory.New()
	key := Credential{KeyFile: bytes.Repeat([]byte{9}, 32)}
	if _, err := Init(ctx, kst, Credential{KeyFile: []byte("short")}, InitOptions{Encrypt: true}); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Fatalf("short key file: %v", err)
	}
	if _, err := Init(ctx, kst, key, InitOptions{Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, kst, key); err != nil {
		t.Fatalf("key file: %v", err)
	}
	if _, err := Init(ctx, kst, key, InitOptions{Encrypt: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("second init: %v", err)
	}
	if _, err := Open(ctx, memory.New(), key); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("empty storage: %v", err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	mutate := map[string]func(t *testing.T, st blob.Storage){
		"flip a pack byte":   func(t *testing.T, st blob.Storage) { flip(t, st, "backups/b/packs/000001.pack", 100) },
		"append to a pack":   func(t *testing.T, st blob.Storage) { appendTo(t, st, "backups/b/packs/000001.pack", []byte("x")) },
		"flip an index byte": func(t *testing.T, st blob.Storage) { flip(t, st, "backups/b/index", 5) },
		"delete a pack": func(t *testing.T, st blob.Storage) {
			if err := st.Delete(context.Background(), "backups/b/packs/000001.pack"); err != nil {
				t.Fatal(err)
			}
		},
		"add a file": func(t *testing.T, st blob.Storage) { put(t, st, "backups/b/packs/999999.pack", []byte("evil")) },
	}
	for _, encrypt := range []bool{true, false} {
		for what, fn := range mutate {
			t.Run(fmt.Sprintf("%s/encrypt=%v", what, encrypt), func(t *testing.T) {
				r, st := newRepo(t, encrypt)
				writeBackup(t, r, "b", 200)
				fn(t, st)
				rep, err := r.Verify(t.Context(), "b")
				if err == nil && len(rep.Problems) == 0 {
					t.Fatal("tampering went unnoticed")
				}
				t.Logf("detected: %v %v", err, rep.Problems)
			})
		}
	}
}

func TestManifestTampering(t *testing.T) {
	ctx := t.Context()
	r, st := newRepo(t, false)
	writeBackup(t, r, "b", 10)
	data := get(t, st, "backups/b/manifest")
	put(t, st, "backups/c/manifest", data) // a copy under another name
	if _, err := r.OpenBackup(ctx, "c"); !errors.Is(err, ErrTampered) {
		t.Fatalf("copied manifest: %v", err)
	}
	forged := bytes.Replace(data, []byte(`"payload": "`), []byte(`"payload": "AA`), 1)
	if err := st.Delete(ctx, "backups/b/manifest"); err != nil {
		t.Fatal(err)
	}
	put(t, st, "backups/b/manifest", forged)
	if _, err := r.OpenBackup(ctx, "b"); !errors.Is(err, ErrTampered) {
		t.Fatalf("forged manifest: %v", err)
	}
}

func TestIncompleteBackupAndCatalog(t *testing.T) {
	ctx := t.Context()
	r, _ := newRepo(t, true)
	writeBackup(t, r, "done", 5)
	w, err := r.NewBackup(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	if err := s.Add(ctx, cmKey, true, item("ConfigMap", "shop", "a", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil { // the pack is stored, but no manifest ever is
		t.Fatal(err)
	}
	if _, err := r.OpenBackup(ctx, "crashed"); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("open of a crashed backup: %v", err)
	}
	if _, err := r.NewBackup(ctx, "crashed"); !errors.Is(err, ErrBackupExists) {
		t.Fatalf("reuse of a crashed backup's name: %v", err)
	}
	cat, err := r.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 2 || cat[0].Name != "crashed" || cat[0].Manifest != nil || !strings.Contains(cat[0].Problem, "incomplete") ||
		cat[1].Name != "done" || cat[1].Manifest == nil || cat[1].Manifest.Result.Items != 7 {
		t.Fatalf("catalog = %+v", cat)
	}
	if n, err := r.DeleteBackup(ctx, "crashed"); err != nil || n != 1 {
		t.Fatalf("delete crashed: %d %v", n, err)
	}
	if _, err := r.OpenBackup(ctx, "crashed"); !errors.Is(err, ErrBackupNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestNewerFormatIsRefusedClearly(t *testing.T) {
	_, err := parseConfig([]byte(`{"format":"cairn-repository","version":99,"encryption":"none"}`))
	if err == nil || !strings.Contains(err.Error(), "newer cairn") {
		t.Fatalf("newer version: %v", err)
	}
}

func TestRestoreResults(t *testing.T) {
	ctx := t.Context()
	r, _ := newRepo(t, true)
	type result struct{ Created int }
	if err := r.PutRestoreResult(ctx, "r1", result{Created: 3}); err != nil {
		t.Fatal(err)
	}
	if err := r.PutRestoreResult(ctx, "r1", result{}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("second result of one name: %v", err)
	}
	var got result
	if err := r.GetRestoreResult(ctx, "r1", &got); err != nil || got.Created != 3 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func flip(t *testing.T, st blob.Storage, key string, at int) {
	t.Helper()
	data := get(t, st, key)
	data[at%len(data)] ^= 0x40
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	put(t, st, key, data)
}

func appendTo(t *testing.T, st blob.Storage, key string, extra []byte) {
	t.Helper()
	put(t, st, key, append(get(t, st, key), extra...))
}

func get(t *testing.T, st blob.Storage, key string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func put(t *testing.T, st blob.Storage, key string, data []byte) {
	t.Helper()
	if err := st.Put(context.Background(), key, bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLockedBackupCannotBeDeletedEarly(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	now := time.Now()
	st.Now = func() time.Time { return now }
	r, err := Init(ctx, st, pass, InitOptions{Encrypt: true, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.NewBackup(ctx, "locked")
	if err != nil {
		t.Fatal(err)
	}
	w.LockUntil(now.Add(24 * time.Hour))
	s := w.NewSink()
	if err := s.Add(ctx, cmKey, true, item("ConfigMap", "shop", "a", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, RecoveryPoint{Result: BackupResult{Phase: PhaseCompleted}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteBackup(ctx, "locked"); !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("delete of a locked backup: %v", err)
	}
	if _, err := r.OpenBackup(ctx, "locked"); err != nil {
		t.Fatalf("a refused delete damaged the backup: %v", err)
	}
	now = now.Add(25 * time.Hour)
	if _, err := r.DeleteBackup(ctx, "locked"); err != nil {
		t.Fatalf("delete after the lock expired: %v", err)
	}
}

// countingStorage counts the reads made through it.
type countingStorage struct {
	blob.Storage
	reads atomic.Int64
}

func (c *countingStorage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	c.reads.Add(1)
	return c.Storage.Get(ctx, key, offset, length)
}

func TestOnStorageReadsThroughAnotherStorageWithTheSameKeys(t *testing.T) {
	r, st := newRepo(t, true)
	writeBackup(t, r, "b1", 20)
	through := &countingStorage{Storage: st}
	other := r.OnStorage(through)
	if other.Storage() != blob.Storage(through) || !other.Encrypted() {
		t.Fatalf("storage %v, encrypted %v", other.Storage(), other.Encrypted())
	}
	b, err := other.OpenBackup(t.Context(), "b1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Index(t.Context()); err != nil {
		t.Fatal(err)
	}
	if through.reads.Load() == 0 {
		t.Error("the backup was not read through the other storage")
	}
}
