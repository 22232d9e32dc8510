package files

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// VerifySnapshots checks the file snapshots ids (a recovery point's volume copies) and what they
// reach, not the rest of the store: each snapshot opens (authenticated); every directory tree it
// reaches opens and hashes to its ID; every chunk a file names is listed in the index, in a pack
// that is stored and long enough to hold it. With readData every data blob the snapshots use is
// also read, once however often it is used, and opened (authenticated, hashed to its ID). It
// holds a shared lock, like a restore, so that no collection removes what it reads. Damage is
// reported in Problems; an error is returned only when the check could not run.
func (s *Store) VerifySnapshots(ctx context.Context, ids []string, readData bool) (VerifyReport, error) {
	v := &verifier{s: s}
	if len(ids) == 0 {
		return v.rep, nil
	}
	if _, err := filerepo.ReadConfig(ctx, s.st, s.keys); err != nil {
		if errors.Is(err, filerepo.ErrNoFileStore) {
			v.problem("the repository has no file store, but %d volume copies are recorded in it", len(ids))
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
	sizes, err := filerepo.StoredPacks(ctx, s.st, nil)
	if err != nil {
		return v.rep, err
	}
	w := &snapshotWalk{v: v, x: x, sizes: sizes, trees: map[filerepo.ID]bool{}, data: map[filerepo.ID]filerepo.Location{}}
	for _, id := range ids {
		snap, err := filerepo.LoadSnapshot(ctx, s.repo, id)
		if err != nil {
			if ctx.Err() != nil {
				return v.rep, ctx.Err()
			}
			v.problem("snapshot %s: %v", id, err)
			continue
		}
		v.rep.Snapshots++
		if err := w.tree(ctx, snap, snap.Tree, "/"); err != nil {
			return v.rep, err
		}
	}
	v.rep.Blobs = len(w.data)
	packs := map[filerepo.Name]bool{}
	for _, loc := range w.data {
		packs[loc.Pack] = true
	}
	v.rep.Packs = len(packs)
	if readData {
		if err := w.readData(ctx); err != nil {
			return v.rep, err
		}
	}
	return v.rep, nil
}

// snapshotWalk walks the trees of some snapshots, collecting the data blobs they use.
type snapshotWalk struct {
	v     *verifier
	x     *filerepo.Index
	sizes map[filerepo.Name]int64
	trees map[filerepo.ID]bool
	data  map[filerepo.ID]filerepo.Location // the data blobs found intact in the structure
}

func (w *snapshotWalk) tree(ctx context.Context, snap *filerepo.Snapshot, id filerepo.ID, path string) error {
	if w.trees[id] {
		return nil
	}
	w.trees[id] = true
	if err := ctx.Err(); err != nil {
		return err
	}
	loc, ok := w.x.Lookup(id)
	if ok && !w.stored(loc) {
		w.v.problem("snapshot %s: directory %s: %s", snap.ID, path, w.storedProblem(loc))
		return nil
	}
	t, err := w.v.s.loadTree(ctx, w.x, id)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.v.problem("snapshot %s: directory %s: %v", snap.ID, path, err)
		return nil
	}
	w.v.rep.Trees++
	for _, n := range t.Nodes {
		for _, c := range n.Content {
			if c.Hole > 0 {
				continue
			}
			if _, seen := w.data[c.ID]; seen {
				continue
			}
			loc, ok := w.x.Lookup(c.ID)
			switch {
			case !ok:
				w.v.problem("snapshot %s: %s%s: chunk %s is in no pack the index lists", snap.ID, path, n.Name, c.ID)
			case loc.Type != filerepo.DataBlob:
				w.v.problem("snapshot %s: %s%s: blob %s is %s, not data", snap.ID, path, n.Name, c.ID, loc.Type)
			case !w.stored(loc):
				w.v.problem("snapshot %s: %s%s: %s", snap.ID, path, n.Name, w.storedProblem(loc))
			default:
				w.data[c.ID] = loc
				continue
			}
			break // one problem a file
		}
		if n.Subtree != nil {
			if err := w.tree(ctx, snap, *n.Subtree, path+n.Name+"/"); err != nil {
				return err
			}
		}
	}
	return nil
}

// stored tells whether the blob's pack is stored and long enough to hold the blob before the
// pack's trailer (the 4 bytes of its header's length).
func (w *snapshotWalk) stored(loc filerepo.Location) bool {
	size, ok := w.sizes[loc.Pack]
	return ok && int64(loc.Offset)+int64(loc.Length)+4 <= size
}

func (w *snapshotWalk) storedProblem(loc filerepo.Location) string {
	size, ok := w.sizes[loc.Pack]
	if !ok {
		return fmt.Sprintf("pack %s, which holds blob %s, is missing", loc.Pack, loc.ID)
	}
	return fmt.Sprintf("pack %s holds %d bytes, too few for blob %s at %d (%d bytes): it was cut short", loc.Pack, size, loc.ID,
		loc.Offset, loc.Length)
}

// readData reads the data blobs, a span of each pack at a time, and opens each.
func (w *snapshotWalk) readData(ctx context.Context) error {
	byPack := map[filerepo.Name][]filerepo.Location{}
	for _, loc := range w.data {
		byPack[loc.Pack] = append(byPack[loc.Pack], loc)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 1)
	for pack, locs := range byPack {
		slices.SortFunc(locs, func(a, b filerepo.Location) int { return cmp.Compare(a.Offset, b.Offset) })
		g.Go(func() error {
			start := int64(locs[0].Offset)
			last := locs[len(locs)-1]
			span, err := filerepo.ReadRange(gctx, w.v.s.st, filerepo.PackKey(pack), start, int64(last.Offset)+int64(last.Length)-start, nil)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				w.v.problem("%v", err)
				return nil
			}
			var plain []byte
			for _, loc := range locs {
				at := int64(loc.Offset) - start
				if plain, err = w.v.s.codec.Open(plain[:0], loc.Type, loc.ID, int(loc.RawLength), span[at:at+int64(loc.Length)]); err != nil {
					w.v.problem("pack %s: %v", pack, err)
				}
			}
			w.v.mu.Lock()
			w.v.rep.PacksRead++
			w.v.rep.BytesRead += int64(len(span))
			w.v.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}
