package archive

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// writeGroups writes groups ConfigMap groups (namespaces ns-000...) of perGroup items from one
// sink, as a backup lists a resource type namespace by namespace.
func writeGroups(t *testing.T, r *Repository, name string, groups, perGroup int) {
	t.Helper()
	ctx := t.Context()
	w, err := r.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	for g := range groups {
		ns := fmt.Sprintf("ns-%03d", g)
		key := GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: ns}
		for i := range perGroup {
			if err := s.Add(ctx, key, true, item("ConfigMap", ns, fmt.Sprintf("cm-%d", i), "v")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, RecoveryPoint{Result: BackupResult{Phase: PhaseCompleted}}); err != nil {
		t.Fatal(err)
	}
}

// openIndex opens backup name of r and reads its index.
func openIndex(t *testing.T, r *Repository, name string) (*Backup, *Index) {
	t.Helper()
	b, err := r.OpenBackup(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := b.Index(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return b, ix
}

func TestReadGroupsReadsBackToBackSectionsTogether(t *testing.T) {
	ctx := t.Context()
	r, st := newRepo(t, true)
	writeGroups(t, r, "b", 50, 20)
	counting := &countingStorage{Storage: st}
	b, ix := openIndex(t, r.OnStorage(counting), "b")
	before := counting.reads.Load()
	perGroup := make([]int, len(ix.Groups))
	err := b.ReadGroups(ctx, ix.Groups, func(g int, item []byte) error {
		if want := fmt.Sprintf(`"namespace":%q`, ix.Groups[g].Namespace); !bytes.Contains(item, []byte(want)) {
			return fmt.Errorf("group %d (%s) was given %s", g, ix.Groups[g].Namespace, item)
		}
		perGroup[g]++
		return nil
	}, func(g int, err error) { t.Errorf("group %d: %v", g, err) })
	if err != nil {
		t.Fatal(err)
	}
	for g, n := range perGroup {
		if n != 20 {
			t.Errorf("group %s: %d items, want 20", ix.Groups[g].Namespace, n)
		}
	}
	if got := counting.reads.Load() - before; got != 1 {
		t.Errorf("50 sections back to back in one pack took %d reads, want 1", got)
	}
}

func TestReadGroupsGoesOnPastABadSection(t *testing.T) {
	ctx := t.Context()
	r, st := newRepo(t, true)
	writeGroups(t, r, "b", 5, 20)
	b, ix := openIndex(t, r, "b")
	bad := ix.Groups[2].Sections[0]
	flip(t, st, "backups/b/packs/"+bad.Pack, int(bad.Offset)+10)
	items := map[int]int{}
	var failed []int
	err := b.ReadGroups(ctx, ix.Groups, func(g int, _ []byte) error { items[g]++; return nil }, func(g int, err error) {
		if !errors.Is(err, ErrTampered) {
			t.Errorf("group %d: %v, want ErrTampered", g, err)
		}
		failed = append(failed, g)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0] != 2 || items[2] != 0 || items[0] != 20 || items[4] != 20 {
		t.Fatalf("failed %v, items %v: want group 2 failed and the others read", failed, items)
	}
}

func TestReadGroupsStopsWhenFnFails(t *testing.T) {
	ctx := t.Context()
	r, _ := newRepo(t, false)
	writeGroups(t, r, "b", 5, 20)
	b, ix := openIndex(t, r, "b")
	stop := errors.New("stop")
	n := 0
	err := b.ReadGroups(ctx, ix.Groups, func(int, []byte) error {
		if n++; n == 30 {
			return stop
		}
		return nil
	}, func(g int, err error) { t.Errorf("group %d: %v", g, err) })
	if !errors.Is(err, stop) || n != 30 {
		t.Fatalf("ReadGroups returned %v after %d items, want fn's error after 30", err, n)
	}
}

func TestPlanRuns(t *testing.T) {
	sec := func(pack string, offset, length int64) Section {
		return Section{Pack: pack, Offset: offset, Length: length}
	}
	// inflated is a section that holds half of what a run may hold once inflated.
	inflated := func(pack string, offset int64) Section {
		return Section{Pack: pack, Offset: offset, Length: 10, RawBytes: maxRunRawBytes / 2}
	}
	groups := []IndexGroup{
		{Sections: []Section{sec("1", 0, 10), sec("1", 10, 5)}},
		{Sections: []Section{sec("1", 15, 5), sec("2", 20, 5)}},
		{Sections: []Section{sec("2", 40, 5), sec("2", 45, maxRunBytes)}},
		{Sections: []Section{inflated("3", 0), inflated("3", 10), inflated("3", 20)}},
	}
	var got []string
	for _, run := range planRuns(groups) {
		got = append(got, fmt.Sprintf("%s@%d+%d/%d", run.pack, run.offset, run.length, len(run.sections)))
	}
	want := fmt.Sprint([]string{"1@0+20/3", "2@20+5/1", "2@40+5/1", fmt.Sprintf("2@45+%d/1", maxRunBytes), "3@0+20/2", "3@20+10/1"})
	if fmt.Sprint(got) != want {
		t.Fatalf("runs %v, want %v", got, want)
	}
}
