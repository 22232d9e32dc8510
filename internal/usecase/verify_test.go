package usecase

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/files"
)

// pointWithCopy makes a repository holding recovery point "rp" of two ConfigMaps and one volume
// whose files (a 2 MiB file of random bytes) are copied into the file store; it returns the storage, the
// repository and the copy's file snapshot.
func pointWithCopy(t *testing.T) (*memory.Storage, *archive.Repository, *filerepo.Snapshot) {
	t.Helper()
	ctx := t.Context()
	st := memory.New()
	repo, err := archive.Init(ctx, st, testKey, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := make([]byte, 2<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(dir, "orders.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := files.Open(repo, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := fs.Backup(ctx, dir, files.BackupOptions{Source: "c/shop/data"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, "rp")
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	key := archive.GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: "shop"}
	for i := range 2 {
		if err := s.Add(ctx, key, true, fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"shop"}}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = w.Commit(ctx, archive.RecoveryPoint{Result: archive.BackupResult{Phase: archive.PhaseCompleted, Items: 2},
		Volumes: []archive.VolumeRecord{{Namespace: "shop", Claim: "data", Outcome: archive.VolumeCopied,
			Copy: &archive.VolumeCopy{FileSnapshot: snap.ID, Source: "c/shop/data", Bytes: int64(len(data))}}}})
	if err != nil {
		t.Fatal(err)
	}
	return st, repo, snap
}

// changeObject rewrites a stored object through fn.
func changeObject(t *testing.T, st blob.Storage, key string, fn func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, key, bytes.NewReader(fn(data)), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// largestPack is the key of the biggest object under prefix.
func largestPack(t *testing.T, st blob.Storage, prefix string) string {
	t.Helper()
	var best blob.Info
	if err := st.List(t.Context(), prefix, func(i blob.Info) error {
		if i.Size > best.Size {
			best = i
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return best.Key
}

func TestVerifyRecoveryPoint(t *testing.T) {
	ctx := t.Context()
	_, repo, _ := pointWithCopy(t)
	data, err := VerifyRecoveryPoint(ctx, repo, "rp", "", files.Options{})
	if err != nil || len(data.Problems) > 0 {
		t.Fatalf("data: %+v %v", data, err)
	}
	if data.Level != VerifyData || data.Files != 2 || data.Sections != 1 || data.Items != 2 || data.Copies != 1 || data.Blobs == 0 || data.BytesRead < 2<<20 {
		t.Errorf("data report %+v", data)
	}
	structure, err := VerifyRecoveryPoint(ctx, repo, "rp", VerifyStructure, files.Options{})
	if err != nil || len(structure.Problems) > 0 {
		t.Fatalf("structure: %+v %v", structure, err)
	}
	if structure.Level != VerifyStructure || structure.Files != 2 || structure.Sections != 1 || structure.Items != 0 || structure.Copies != 1 ||
		structure.BytesRead != 0 {
		t.Errorf("structure report %+v", structure)
	}
	if _, err := VerifyRecoveryPoint(ctx, repo, "rp", "sample", files.Options{}); err == nil || !strings.Contains(err.Error(), `level "sample": use data or structure`) {
		t.Errorf("unknown level: %v", err)
	}
	gone, err := VerifyRecoveryPoint(ctx, repo, "nope", VerifyStructure, files.Options{})
	if err != nil || len(gone.Problems) != 1 || !strings.Contains(gone.Problems[0], "backup not found") {
		t.Errorf("a missing recovery point is a problem: %+v %v", gone, err)
	}
}

// TestVerifyRecoveryPointLevels: damage to the point's own packs and to its copy's data, and what
// each level finds of it.
func TestVerifyRecoveryPointLevels(t *testing.T) {
	for _, tc := range []struct {
		name      string
		damage    func(t *testing.T, st blob.Storage)
		structure string // what the structure level finds ("": nothing)
		data      string
	}{
		{"a byte of the point's pack", func(t *testing.T, st blob.Storage) {
			changeObject(t, st, largestPack(t, st, "backups/rp/packs/"), func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, "", "checksum mismatch"},
		{"the point's pack truncated", func(t *testing.T, st blob.Storage) {
			changeObject(t, st, largestPack(t, st, "backups/rp/packs/"), func(b []byte) []byte { return b[:len(b)-10] })
		}, "the manifest says", "the manifest says"},
		{"a byte of the copy's data", func(t *testing.T, st blob.Storage) {
			changeObject(t, st, largestPack(t, st, filerepo.PacksPrefix), func(b []byte) []byte { b[len(b)/3] ^= 1; return b })
		}, "", "volume copies: pack "},
		{"the copy's pack truncated", func(t *testing.T, st blob.Storage) {
			changeObject(t, st, largestPack(t, st, filerepo.PacksPrefix), func(b []byte) []byte { return b[:len(b)/2] })
		}, "volume copies: snapshot ", "volume copies: snapshot "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, repo, _ := pointWithCopy(t)
			tc.damage(t, st)
			for level, want := range map[string]string{VerifyStructure: tc.structure, VerifyData: tc.data} {
				rep, err := VerifyRecoveryPoint(t.Context(), repo, "rp", level, files.Options{})
				if err != nil {
					t.Fatalf("%s: %v", level, err)
				}
				got := strings.Join(rep.Problems, "\n")
				if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
					t.Errorf("%s: problems %q, want %q", level, got, want)
				}
			}
		})
	}
}
