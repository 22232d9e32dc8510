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

// slot is a Location kept compactly: 20 bytes beside its ID in the map.
type slot struct {
	pack                   int32
	offset, length, rawLen uint32
	typ                    BlobType
}

// Index is the repository's index in memory (§12.4, §18): about 70 bytes a blob. Safe for
// concurrent use.
type Index struct {
	mu      sync.RWMutex
	packs   []Name
	packIdx map[Name]int32
	byID    map[ID]slot
	more    map[ID][]slot // the second and later listings of an ID (rare)
	files   []Name
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{packIdx: map[Name]int32{}, byID: map[ID]slot{}, more: map[ID][]slot{}}
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
		s := slot{pack: p, offset: e.Offset, length: e.Length, rawLen: e.RawLength, typ: e.Type}
		if _, ok := x.byID[e.ID]; ok {
			x.more[e.ID] = append(x.more[e.ID], s)
			continue
		}
		x.byID[e.ID] = s
	}
}

func (x *Index) location(id ID, s slot) Location {
	return Location{Pack: x.packs[s.pack], Entry: Entry{Type: s.typ, ID: id, Offset: s.offset, Length: s.length, RawLength: s.rawLen}}
}

// each calls fn for every listing of id until it returns false.
func (x *Index) each(id ID, fn func(slot) bool) {
	s, ok := x.byID[id]
	if !ok || !fn(s) {
		return
	}
	for _, s := range x.more[id] {
		if !fn(s) {
			return
		}
	}
}

// Lookup returns a location of id.
func (x *Index) Lookup(id ID) (Location, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.byID[id]
	if !ok {
		return Location{}, false
	}
	return x.location(id, s), true
}

// Locations returns every location of id.
func (x *Index) Locations(id ID) []Location {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Location
	x.each(id, func(s slot) bool { out = append(out, x.location(id, s)); return true })
	return out
}

// Has reports whether id is stored, in a location usable reports usable (nil: any).
func (x *Index) Has(id ID, usable func(Location) bool) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	found := false
	x.each(id, func(s slot) bool {
		found = usable == nil || usable(x.location(id, s))
		return !found
	})
	return found
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
	for id := range x.byID {
		x.each(id, func(s slot) bool {
			out[s.pack].Entries = append(out[s.pack].Entries, x.location(id, s).Entry)
			return true
		})
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

// LoadIndex reads every index file of the store, leaving out superseded ones; a file that does
// not read is an error.
func LoadIndex(ctx context.Context, st blob.Storage, keys *Keys) (*Index, error) {
	return LoadIndexSkipping(ctx, st, keys, nil)
}

// LoadIndexSkipping is LoadIndex that, when skip is not nil, tells skip of every key under
// IndexPrefix that is not an index file or does not read, and builds the index of the rest
// (verification reports them all instead of stopping at the first).
func LoadIndexSkipping(ctx context.Context, st blob.Storage, keys *Keys, skip func(key string, err error)) (*Index, error) {
	var names []Name
	err := st.List(ctx, IndexPrefix, func(info blob.Info) error {
		n, err := ParseIndexKey(info.Key)
		if err != nil {
			if skip != nil {
				skip(info.Key, err)
			}
			return nil
		}
		names = append(names, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list index files: %w", err)
	}
	files := make([]IndexFile, len(names))
	read := make([]bool, len(names))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, n := range names {
		g.Go(func() error {
			f, err := ReadIndexFile(gctx, st, keys, n)
			if err != nil && skip != nil && gctx.Err() == nil {
				mu.Lock()
				skip(IndexKey(n), err)
				mu.Unlock()
				return nil
			}
			files[i], read[i] = f, err == nil
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
		if !read[i] || superseded[names[i]] {
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
	data, err := blob.ReadAll(ctx, st, IndexKey(n), maxIndexFile)
	if err != nil {
		return IndexFile{}, err
	}
	return DecodeIndexFile(keys, n, data)
}
