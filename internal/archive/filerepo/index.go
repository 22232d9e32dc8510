package filerepo

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/internal/blob"
)

// Location is where one copy of a blob lies.
type Location struct {
	Pack Name
	Entry
}

// slot is a Location kept compactly; next chains the other copies of one ID.
type slot struct {
	pack, next             int32
	offset, length, rawLen uint32
	typ                    BlobType
}

// Index is the repository's index in memory (§12.4, §18): about 80 bytes a blob. Safe for
// concurrent use.
type Index struct {
	mu      sync.RWMutex
	packs   []Name
	packIdx map[Name]int32
	slots   []slot
	byID    map[ID]int32
	files   []Name
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{packIdx: map[Name]int32{}, byID: map[ID]int32{}}
}

// AddPack records a pack's blobs; a pack already known is left as it is.
func (x *Index) AddPack(pack Name, entries []Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.packIdx[pack]; ok {
		return
	}
	p := int32(len(x.packs))
	x.packs = append(x.packs, pack)
	x.packIdx[pack] = p
	for _, e := range entries {
		s := slot{pack: p, next: -1, offset: e.Offset, length: e.Length, rawLen: e.RawLength, typ: e.Type}
		if head, ok := x.byID[e.ID]; ok {
			s.next = x.slots[head].next
			x.slots = append(x.slots, s)
			x.slots[head].next = int32(len(x.slots) - 1)
			continue
		}
		x.slots = append(x.slots, s)
		x.byID[e.ID] = int32(len(x.slots) - 1)
	}
}

func (x *Index) location(id ID, i int32) Location {
	s := x.slots[i]
	return Location{Pack: x.packs[s.pack], Entry: Entry{Type: s.typ, ID: id, Offset: s.offset, Length: s.length, RawLength: s.rawLen}}
}

// Lookup returns a location of id.
func (x *Index) Lookup(id ID) (Location, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.byID[id]
	if !ok {
		return Location{}, false
	}
	return x.location(id, i), true
}

// Locations returns every location of id.
func (x *Index) Locations(id ID) []Location {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Location
	for i, ok := x.byID[id]; ok && i >= 0; i = x.slots[i].next {
		out = append(out, x.location(id, i))
	}
	return out
}

// Has reports whether id is stored, in a location usable reports usable (nil: any).
func (x *Index) Has(id ID, usable func(Location) bool) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for i, ok := x.byID[id]; ok && i >= 0; i = x.slots[i].next {
		if usable == nil || usable(x.location(id, i)) {
			return true
		}
	}
	return false
}

// Len is the number of distinct IDs.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Packs returns every pack with its blobs, in the order they were added.
func (x *Index) Packs() []PackEntries {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]PackEntries, len(x.packs))
	for i, p := range x.packs {
		out[i].Pack = p
	}
	for id, head := range x.byID {
		for i := head; i >= 0; i = x.slots[i].next {
			s := x.slots[i]
			out[s.pack].Entries = append(out[s.pack].Entries, x.location(id, i).Entry)
		}
	}
	for i := range out {
		sortEntries(out[i].Entries)
	}
	return out
}

// HasPack reports whether the index lists the pack.
func (x *Index) HasPack(n Name) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.packIdx[n]
	return ok
}

// Files are the index files the index was loaded from (without superseded ones).
func (x *Index) Files() []Name {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]Name(nil), x.files...)
}

// LoadIndex reads every index file of the store, leaving out superseded ones.
func LoadIndex(ctx context.Context, st blob.Storage, keys *Keys) (*Index, error) {
	var names []Name
	err := st.List(ctx, IndexPrefix, func(info blob.Info) error {
		n, err := ParseIndexKey(info.Key)
		if err != nil {
			return nil // not ours; verify reports strays
		}
		names = append(names, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list index files: %w", err)
	}
	files := make([]IndexFile, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, n := range names {
		g.Go(func() error {
			f, err := ReadIndexFile(gctx, st, keys, n)
			files[i] = f
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	superseded := map[Name]bool{}
	for _, f := range files {
		for _, s := range f.Supersedes {
			superseded[s] = true
		}
	}
	x := NewIndex()
	for i, f := range files {
		if superseded[names[i]] {
			continue
		}
		x.files = append(x.files, names[i])
		for _, p := range f.Packs {
			x.AddPack(p.Pack, p.Entries)
		}
	}
	return x, nil
}

// ReadIndexFile reads and opens one index file.
func ReadIndexFile(ctx context.Context, st blob.Storage, keys *Keys, n Name) (IndexFile, error) {
	data, err := readAll(ctx, st, IndexKey(n), maxIndexFile)
	if err != nil {
		return IndexFile{}, err
	}
	return DecodeIndexFile(keys, n, data)
}
