package files

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// VerifyOptions choose how much of the data a verification reads.
type VerifyOptions struct {
	// ReadData reads every pack whole and opens every blob.
	ReadData bool
	// ReadSubset, between 0 and 1, reads that fraction of the packs, chosen at random.
	ReadSubset float64
}

// VerifyReport is what a verification found. Problems are damage; Notes are leftovers a
// collection removes.
type VerifyReport struct {
	Snapshots  int `json:"snapshots"`
	Trees      int `json:"trees"`
	IndexFiles int `json:"indexFiles"`
	Packs      int `json:"packs"`
	Blobs      int `json:"blobs"`
	PacksRead  int `json:"packsRead"`
	// BytesRead is what VerifySnapshots read of the packs for their data.
	BytesRead int64    `json:"bytesRead,omitempty"`
	Problems  []string `json:"problems,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// Verify checks the file store (§17). A store with no file data verifies empty.
func (s *Store) Verify(ctx context.Context, opts VerifyOptions) (VerifyReport, error) {
	v := &verifier{s: s}
	if _, err := filerepo.ReadConfig(ctx, s.st, s.keys); err != nil {
		if errors.Is(err, filerepo.ErrNoFileStore) {
			return v.rep, nil
		}
		v.problem("%v", err)
		return v.rep, nil
	}
	lock, err := s.lock(ctx, filerepo.LockVerify, false)
	if err != nil {
		return v.rep, err
	}
	defer func() { _ = lock.Release(ctx) }()
	x, err := v.index(ctx)
	if err != nil {
		return v.rep, err
	}
	sizes, err := v.packs(ctx, x)
	if err != nil {
		return v.rep, err
	}
	if err := v.snapshots(ctx, x); err != nil {
		return v.rep, err
	}
	if opts.ReadData || opts.ReadSubset > 0 {
		if err := v.readData(ctx, x, sizes, opts); err != nil {
			return v.rep, err
		}
	}
	locks, err := filerepo.ListLocks(ctx, s.repo)
	if err != nil {
		return v.rep, err
	}
	for _, l := range locks {
		if l.Name != lock.Name && l.Stale(lock.StorageNow) {
			v.note("lock %s (%s of %s) is stale: its process is gone; cairn files gc removes it", l.Name, l.Lock.Kind, l.Lock.Hostname)
		}
	}
	return v.rep, nil
}

type verifier struct {
	s   *Store
	mu  sync.Mutex
	rep VerifyReport
}

func (v *verifier) problem(format string, args ...any) {
	v.mu.Lock()
	v.rep.Problems = append(v.rep.Problems, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}

func (v *verifier) note(format string, args ...any) {
	v.mu.Lock()
	v.rep.Notes = append(v.rep.Notes, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}

// index opens every index file, reporting those that do not, and builds the index of the rest.
func (v *verifier) index(ctx context.Context) (*filerepo.Index, error) {
	x, err := filerepo.LoadIndexSkipping(ctx, v.s.st, v.s.keys, func(_ string, err error) { v.problem("%v", err) })
	if err != nil {
		return nil, err
	}
	v.rep.IndexFiles = len(x.Files())
	return x, nil
}

// packs checks that every indexed pack exists, has the size its blobs and header make, and that
// its header lists exactly what the index lists for it.
func (v *verifier) packs(ctx context.Context, x *filerepo.Index) (map[filerepo.Name]int64, error) {
	sizes, err := filerepo.StoredPacks(ctx, v.s.st, func(key string) { v.problem("%s is not a pack", key) })
	if err != nil {
		return nil, err
	}
	packs := x.Packs()
	v.rep.Packs = len(packs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, p := range packs {
		v.rep.Blobs += len(p.Entries)
		size, ok := sizes[p.Pack]
		if !ok {
			v.problem("pack %s is missing: %d blobs the index lists are lost", p.Pack, len(p.Entries))
			continue
		}
		g.Go(func() error {
			header, err := filerepo.ReadPackHeader(gctx, v.s.st, v.s.keys, p.Pack, size)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				v.problem("%v", err)
				return nil
			}
			if !slices.Equal(header, p.Entries) {
				v.problem("pack %s: its header lists %d blobs, the index %d, and they differ", p.Pack, len(header), len(p.Entries))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for n, size := range sizes {
		if !x.HasPack(n) {
			v.note("pack %s (%d bytes) is in no index: left by an interrupted backup or collection; cairn files gc removes it", n, size)
		}
	}
	return sizes, nil
}

// snapshots opens every snapshot and every tree it reaches, and checks every chunk is listed.
func (v *verifier) snapshots(ctx context.Context, x *filerepo.Index) error {
	ids, err := filerepo.SnapshotIDs(ctx, v.s.st)
	if err != nil {
		return err
	}
	seen := map[filerepo.ID]bool{}
	for _, id := range ids {
		snap, err := filerepo.LoadSnapshot(ctx, v.s.repo, id)
		if err != nil {
			v.problem("%v", err)
			continue
		}
		v.rep.Snapshots++
		if err := v.tree(ctx, x, snap, snap.Tree, "/", seen); err != nil {
			return err
		}
	}
	return nil
}

func (v *verifier) tree(ctx context.Context, x *filerepo.Index, snap *filerepo.Snapshot, id filerepo.ID, path string, seen map[filerepo.ID]bool) error {
	if seen[id] {
		return nil
	}
	seen[id] = true
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := v.s.loadTree(ctx, x, id)
	if err != nil {
		v.problem("snapshot %s: directory %s: %v", snap.ID, path, err)
		return nil
	}
	v.rep.Trees++
	for _, n := range t.Nodes {
		for _, c := range n.Content {
			if c.Hole == 0 {
				if _, ok := x.Lookup(c.ID); !ok {
					v.problem("snapshot %s: %s%s: chunk %s is in no pack the index lists", snap.ID, path, n.Name, c.ID)
					break
				}
			}
		}
		if n.Subtree != nil {
			if err := v.tree(ctx, x, snap, *n.Subtree, path+n.Name+"/", seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// readData reads packs whole and opens every blob in them.
func (v *verifier) readData(ctx context.Context, x *filerepo.Index, sizes map[filerepo.Name]int64, opts VerifyOptions) error {
	packs := x.Packs()
	if !opts.ReadData {
		rand.Shuffle(len(packs), func(i, j int) { packs[i], packs[j] = packs[j], packs[i] })
		n := int(float64(len(packs))*opts.ReadSubset + 0.999999)
		packs = packs[:min(n, len(packs))]
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 1)
	for _, p := range packs {
		size, ok := sizes[p.Pack]
		if !ok {
			continue // reported as missing
		}
		g.Go(func() error {
			data, err := filerepo.ReadRange(gctx, v.s.st, filerepo.PackKey(p.Pack), 0, size, nil)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				v.problem("%v", err)
				return nil
			}
			v.mu.Lock()
			v.rep.PacksRead++
			v.mu.Unlock()
			entries, err := filerepo.SplitPack(v.s.keys, p.Pack, data)
			if err != nil {
				v.problem("%v", err)
				return nil
			}
			var plain []byte
			for _, e := range entries {
				if plain, err = v.s.codec.Open(plain[:0], e.Type, e.ID, int(e.RawLength), data[e.Offset:e.Offset+e.Length]); err != nil {
					v.problem("pack %s: %v", p.Pack, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}
