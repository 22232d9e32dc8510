package archive

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
)

// TestVerifyStructure: the structure check finds what changes a file's presence or size, the
// index and added files, without reading the packs: a byte changed inside a pack is left to
// Verify.
func TestVerifyStructure(t *testing.T) {
	const pack = "backups/b/packs/000001.pack"
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, st blob.Storage)
		// structure: the problem VerifyStructure reports ("" none); Verify reports one whenever anything changed.
		structure string
	}{
		{"intact", func(*testing.T, blob.Storage) {}, ""},
		{"flip a pack byte", func(t *testing.T, st blob.Storage) { flip(t, st, pack, 100) }, ""},
		{"truncate a pack", func(t *testing.T, st blob.Storage) {
			data := get(t, st, pack)
			if err := st.Delete(context.Background(), pack); err != nil {
				t.Fatal(err)
			}
			put(t, st, pack, data[:len(data)/2])
		}, "backups/b/packs/000001.pack holds"},
		{"append to a pack", func(t *testing.T, st blob.Storage) { appendTo(t, st, pack, []byte("x")) }, "the manifest says"},
		{"delete a pack", func(t *testing.T, st blob.Storage) {
			if err := st.Delete(context.Background(), pack); err != nil {
				t.Fatal(err)
			}
		}, "backups/b/packs/000001.pack is missing"},
		{"flip an index byte", func(t *testing.T, st blob.Storage) { flip(t, st, "backups/b/index", 5) }, "backups/b/index: checksum mismatch"},
		{"add a file", func(t *testing.T, st blob.Storage) { put(t, st, "backups/b/packs/999999.pack", []byte("evil")) },
			"backups/b/packs/999999.pack is not part of the backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, st := newRepo(t, true)
			writeBackup(t, r, "b", 200)
			tc.mutate(t, st)
			rep, err := r.VerifyStructure(t.Context(), "b")
			if err != nil {
				t.Fatal(err)
			}
			if tc.structure == "" && len(rep.Problems) > 0 || tc.structure != "" && !strings.Contains(strings.Join(rep.Problems, "\n"), tc.structure) {
				t.Errorf("structure problems %q, want %q", rep.Problems, tc.structure)
			}
			if rep.Files == 0 || (len(rep.Problems) == 0 && rep.Sections == 0) || rep.Items != 0 {
				t.Errorf("structure report %+v: files and sections counted, no item read", rep)
			}
			full, err := r.Verify(t.Context(), "b")
			if err != nil {
				t.Fatal(err)
			}
			if (tc.name == "intact") != (len(full.Problems) == 0) {
				t.Errorf("full verification: %q", full.Problems)
			}
		})
	}
}
