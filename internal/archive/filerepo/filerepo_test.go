package filerepo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

func TestBlobRoundTrip(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		_, keys, codec := newTestRepo(t, encrypt)
		random := make([]byte, 100_000)
		_, _ = rand.Read(random)
		text := bytes.Repeat([]byte("the same words again and again "), 4000)
		bigText := bytes.Repeat([]byte("a longer text, past the sample a large plaintext is probed with; "), 20_000)
		bigRandom := make([]byte, 1<<20)
		_, _ = rand.Read(bigRandom)
		for name, plain := range map[string][]byte{"random": random, "text": text, "empty": {}, "big text": bigText, "big random": bigRandom} {
			id := keys.ID(plain)
			sealed, _ := codec.Seal(nil, DataBlob, id, plain, nil)
			if strings.HasSuffix(name, "text") && len(sealed) > len(plain)/4 {
				t.Errorf("encrypt=%v: text of %d bytes sealed to %d: not compressed", encrypt, len(plain), len(sealed))
			}
			if strings.HasSuffix(name, "random") && len(sealed) > len(plain)+keys.Overhead()+1 {
				t.Errorf("encrypt=%v: random data grew from %d to %d bytes: should be stored as is", encrypt, len(plain), len(sealed))
			}
			got, err := codec.Open(nil, DataBlob, id, len(plain), sealed)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("encrypt=%v %s: open: %v", encrypt, name, err)
			}
			if _, err := codec.Open(nil, TreeBlob, id, len(plain), sealed); !errors.Is(err, ErrTampered) {
				t.Errorf("encrypt=%v %s: opened as a tree: %v", encrypt, name, err)
			}
			other := keys.ID([]byte("other"))
			if _, err := codec.Open(nil, DataBlob, other, len(plain), sealed); !errors.Is(err, ErrTampered) {
				t.Errorf("encrypt=%v %s: opened under another ID: %v", encrypt, name, err)
			}
			for _, i := range []int{0, len(sealed) / 2, len(sealed) - 1} {
				bad := bytes.Clone(sealed)
				bad[i] ^= 1
				if _, err := codec.Open(nil, DataBlob, id, len(plain), bad); !errors.Is(err, ErrTampered) {
					t.Errorf("encrypt=%v %s: byte %d flipped: %v", encrypt, name, i, err)
				}
			}
		}
	}
}

func TestIDsAreKeyed(t *testing.T) {
	_, k1, _ := newTestRepo(t, true)
	_, k2, _ := newTestRepo(t, true)
	if k1.ID([]byte("same")) == k2.ID([]byte("same")) {
		t.Fatal("two repositories give the same content the same ID: IDs are not keyed")
	}
	if a, b := k1.ID([]byte("same")), k1.ID([]byte("same")); a != b {
		t.Fatal("IDs are not stable")
	}
}

func TestPackRoundTrip(t *testing.T) {
	ctx := context.Background()
	repo, keys, codec := newTestRepo(t, true)
	pw := NewPackWriter(nil)
	var want []Entry
	for i := range 20 {
		plain := bytes.Repeat([]byte{byte(i)}, 1000*(i+1))
		id := keys.ID(plain)
		buf, _ := codec.Seal(pw.Buffer(), DataBlob, id, plain, nil)
		off := pw.Size()
		pw.Added(DataBlob, id, len(plain), buf)
		want = append(want, Entry{Type: DataBlob, ID: id, Offset: uint32(off), Length: uint32(len(buf) - off), RawLength: uint32(len(plain))})
	}
	data := pw.Finish(keys)
	if err := PutPack(ctx, repo.Storage(), pw.Name, data); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPackHeader(ctx, repo.Storage(), keys, pw.Name, int64(len(data)))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("header: %v\n got %+v\nwant %+v", err, got, want)
	}
	if got, err := SplitPack(keys, pw.Name, data); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("split: %v", err)
	}
	if _, err := SplitPack(keys, NewName(), data); !errors.Is(err, ErrTampered) {
		t.Errorf("a pack under another name opened: %v", err)
	}
	if n, err := ParsePackKey(PackKey(pw.Name)); err != nil || n != pw.Name {
		t.Errorf("pack key round trip: %v", err)
	}
}

func TestIndexFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	repo, keys, _ := newTestRepo(t, false)
	f := IndexFile{Supersedes: []Name{NewName()}, Packs: []PackEntries{{Pack: NewName(), Entries: []Entry{
		{Type: DataBlob, ID: keys.ID([]byte("a")), Offset: 0, Length: 30, RawLength: 1},
		{Type: TreeBlob, ID: keys.ID([]byte("b")), Offset: 30, Length: 40, RawLength: 12}}}}}
	n, err := PutIndexFile(ctx, repo.Storage(), keys, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadIndexFile(ctx, repo.Storage(), keys, n)
	if err != nil || !reflect.DeepEqual(got, f) {
		t.Fatalf("%v\n got %+v\nwant %+v", err, got, f)
	}
}

func TestIndexSupersedesAndDuplicates(t *testing.T) {
	ctx := context.Background()
	repo, keys, _ := newTestRepo(t, true)
	st := repo.Storage()
	id := keys.ID([]byte("x"))
	p1, p2, p3 := NewName(), NewName(), NewName()
	old, _ := PutIndexFile(ctx, st, keys, IndexFile{Packs: []PackEntries{{Pack: p1, Entries: []Entry{{Type: DataBlob, ID: id, Length: 40, RawLength: 1}}}}})
	_, _ = PutIndexFile(ctx, st, keys, IndexFile{Packs: []PackEntries{{Pack: p2, Entries: []Entry{{Type: DataBlob, ID: id, Length: 40, RawLength: 1}}}}})
	x, err := LoadIndex(ctx, st, keys)
	if err != nil {
		t.Fatal(err)
	}
	if locs := x.Locations(id); len(locs) != 2 {
		t.Fatalf("want the blob in 2 packs, got %+v", locs)
	}
	if !x.Has(id, func(l Location) bool { return l.Pack == p2 }) || x.Has(id, func(l Location) bool { return l.Pack == p3 }) {
		t.Fatal("Has does not filter by location")
	}
	_, _ = PutIndexFile(ctx, st, keys, IndexFile{Supersedes: []Name{old}, Packs: []PackEntries{{Pack: p3, Entries: []Entry{{Type: DataBlob, ID: id, Length: 40, RawLength: 1}}}}})
	x, err = LoadIndex(ctx, st, keys)
	if err != nil {
		t.Fatal(err)
	}
	if x.HasPack(p1) || !x.HasPack(p2) || !x.HasPack(p3) || len(x.Files()) != 2 {
		t.Fatalf("a superseded index file still counts: packs p1=%v p2=%v p3=%v files=%d", x.HasPack(p1), x.HasPack(p2), x.HasPack(p3), len(x.Files()))
	}
}

func TestTreeRoundTrip(t *testing.T) {
	id := ID{1, 2, 3}
	sub := ID{4}
	tree := &Tree{Nodes: []Node{
		{Name: "z-file", Type: TypeFile, Mode: 0o644, Size: 10 << 20, Content: []ContentRef{{ID: id}, {Hole: 5 << 20}, {ID: id}},
			Xattrs: []Xattr{{Name: "user.a", Value: []byte{0, 1, 2}}}},
		{Name: "a-dir", Type: TypeDir, Mode: 0o755, Subtree: &sub},
		{Name: "bad-\xff-name", Type: TypeSymlink, Target: "target-\xfe"},
		{Name: "pipe", Type: TypeFifo},
	}}
	data, err := EncodeTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTree(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tree) {
		t.Fatalf("\n got %+v\nwant %+v", got, tree)
	}
	if !strings.Contains(string(data), "nameBase64") {
		t.Error("a name that is not UTF-8 is not kept in base64")
	}
	for _, bad := range []string{
		`{"nodes":[{"name":"a","type":"file"},{"name":"a","type":"file"}]}`,
		`{"nodes":[{"name":"../x","type":"file"}]}`,
		`{"nodes":[{"name":"d","type":"dir"}]}`,
		`{"nodes":[{"name":"f","type":"file","content":[-1]}]}`,
		`{"nodes":[{"name":"f","type":"whatever"}]}`,
	} {
		if _, err := DecodeTree([]byte(bad)); err == nil {
			t.Errorf("DecodeTree accepted %s", bad)
		}
	}
}

func TestConfigIsWrittenOnce(t *testing.T) {
	ctx := context.Background()
	repo, keys, _ := newTestRepo(t, true)
	if _, err := ReadConfig(ctx, repo.Storage(), keys); !errors.Is(err, ErrNoFileStore) {
		t.Fatalf("want ErrNoFileStore, got %v", err)
	}
	c1, err := InitConfig(ctx, repo.Storage(), keys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := InitConfig(ctx, repo.Storage(), keys, time.Now())
	if err != nil || !bytes.Equal(c1.Chunker.Key, c2.Chunker.Key) {
		t.Fatalf("a second InitConfig changed the parameters: %v", err)
	}
}

func TestSnapshotsAndFind(t *testing.T) {
	ctx := context.Background()
	repo, _, _ := newTestRepo(t, true)
	base := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i, src := range []string{"a", "b", "a"} {
		if err := SaveSnapshot(ctx, repo, &Snapshot{Time: base.Add(time.Duration(i) * time.Hour), Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	snaps, err := ListSnapshots(ctx, repo)
	if err != nil || len(snaps) != 3 {
		t.Fatalf("%v, %d snapshots", err, len(snaps))
	}
	if s, _ := FindSnapshot(snaps, "latest", "a"); s != snaps[2] {
		t.Error("latest of a is not the newest of a")
	}
	if s, _ := FindSnapshot(snaps, "latest", "b"); s != snaps[1] {
		t.Error("latest of b")
	}
	if s, err := FindSnapshot(snaps, snaps[0].ID[:8], ""); err != nil || s != snaps[0] {
		t.Errorf("prefix: %v", err)
	}
	if _, err := FindSnapshot(snaps, "zzzz", ""); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("unknown: %v", err)
	}
	// A snapshot moved under another name no longer opens.
	st := repo.Storage()
	data, _ := blob.ReadAll(ctx, st, SnapshotKey(snaps[0].ID), 1<<20)
	moved := NewName().String()
	_ = st.Put(ctx, SnapshotKey(moved), bytes.NewReader(data), blob.PutOptions{})
	if _, err := LoadSnapshot(ctx, repo, moved); !errors.Is(err, ErrTampered) {
		t.Errorf("a moved snapshot opened: %v", err)
	}
}

func TestMarkRoundTrip(t *testing.T) {
	ctx := context.Background()
	repo, keys, _ := newTestRepo(t, true)
	st := repo.Storage()
	n := NewName()
	m := Mark{CreatedAt: time.Unix(1_800_000_000, 5).UTC(), Unindexed: []Name{NewName()},
		Packs: []PackEntries{{Pack: NewName(), Entries: []Entry{{Type: DataBlob, ID: ID{9}}}}}}
	if err := SaveMark(ctx, st, keys, n, m); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMark(ctx, st, keys, n)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("%v\n got %+v\nwant %+v", err, got, m)
	}
	marks, _ := ListMarks(ctx, st)
	if len(marks) != 1 || marks[0].Finished {
		t.Fatalf("an unfinished mark: %+v", marks)
	}
	locks := []Name{NewName(), NewName()}
	if err := SaveMarkLocks(ctx, st, keys, n, locks); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadMarkLocks(ctx, st, keys, n); err != nil || !reflect.DeepEqual(got, locks) {
		t.Fatalf("locks: %v", err)
	}
	if marks, _ := ListMarks(ctx, st); len(marks) != 1 || !marks[0].Finished {
		t.Fatalf("a finished mark: %+v", marks)
	}
	if err := DeleteMark(ctx, st, n); err != nil {
		t.Fatal(err)
	}
	if marks, _ := ListMarks(ctx, st); len(marks) != 0 {
		t.Fatalf("mark not deleted: %+v", marks)
	}
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	repo, _, _ := newTestRepo(t, true)
	l, err := AcquireLock(ctx, repo, LockBackup, false, time.Now(), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	locks, err := ListLocks(ctx, repo)
	if err != nil || len(locks) != 1 || locks[0].Lock.Kind != LockBackup || locks[0].Err != nil {
		t.Fatalf("%v %+v", err, locks)
	}
	if locks[0].Stale(l.StorageNow) || !locks[0].Stale(l.StorageNow.Add(LockStaleAfter+time.Minute)) {
		t.Error("staleness")
	}
	if err := l.Release(ctx); err != nil || l.Err() != nil {
		t.Fatal(err)
	}
	if locks, _ := ListLocks(ctx, repo); len(locks) != 0 {
		t.Fatalf("lock left: %+v", locks)
	}
}
