package files

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
)

// Store is a repository's file store, ready for the engine's operations.
type Store struct {
	repo  *archive.Repository
	st    blob.Storage
	keys  *filerepo.Keys
	codec *filerepo.Codec
	clock func() time.Time
	log   *slog.Logger
}

// Options adjust a Store.
type Options struct {
	// Clock is the time source (time.Now when nil).
	Clock func() time.Time
	// Logger receives the engine's notes (discarded when nil).
	Logger *slog.Logger
	// LockRefresh is how often held locks are rewritten (filerepo.LockRefreshEvery when zero).
	LockRefresh time.Duration
}

// Open prepares the file store of an unlocked repository; it reads nothing yet.
func Open(repo *archive.Repository, opts Options) (*Store, error) {
	keys, err := filerepo.NewKeys(repo.FileKeys())
	if err != nil {
		return nil, err
	}
	codec, err := filerepo.NewCodec(keys)
	if err != nil {
		return nil, err
	}
	s := &Store{repo: repo, st: repo.Storage(), keys: keys, codec: codec, clock: opts.Clock, log: opts.Logger}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Snapshots lists the file snapshots, oldest first.
func (s *Store) Snapshots(ctx context.Context) ([]*filerepo.Snapshot, error) {
	return filerepo.ListSnapshots(ctx, s.repo)
}

// lock takes a lock of kind for the duration of an operation.
func (s *Store) lock(ctx context.Context, kind string, exclusive bool) (*filerepo.HeldLock, error) {
	return filerepo.AcquireLock(ctx, s.repo, kind, exclusive, s.clock(), 0)
}

// readBlob reads and opens one blob at a known location.
func (s *Store) readBlob(ctx context.Context, loc filerepo.Location, dst []byte) ([]byte, error) {
	sealed, err := filerepo.ReadRange(ctx, s.st, filerepo.PackKey(loc.Pack), int64(loc.Offset), int64(loc.Length), nil)
	if err != nil {
		return nil, err
	}
	return s.codec.Open(dst, loc.Type, loc.ID, int(loc.RawLength), sealed)
}

// loadTree reads the tree id through the index.
func (s *Store) loadTree(ctx context.Context, x *filerepo.Index, id filerepo.ID) (*filerepo.Tree, error) {
	loc, ok := x.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("tree %s is in no pack the index lists", id)
	}
	if loc.Type != filerepo.TreeBlob {
		return nil, fmt.Errorf("blob %s is %s, not a tree", id, loc.Type)
	}
	plain, err := s.readBlob(ctx, loc, nil)
	if err != nil {
		return nil, err
	}
	return filerepo.DecodeTree(plain)
}

// locate reads the index and walks to sub (a slash-separated path) in the snapshot: it returns
// the directory's tree when sub is the root, else the one node sub names.
func (s *Store) locate(ctx context.Context, snap *filerepo.Snapshot, sub string) (*filerepo.Index, *filerepo.Tree, *filerepo.Node, error) {
	x, err := filerepo.LoadIndex(ctx, s.st, s.keys)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := s.loadTree(ctx, x, snap.Tree)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("snapshot %s: %w", snap.ID, err)
	}
	sub = strings.Trim(path.Clean("/"+sub), "/")
	if sub == "" {
		return x, t, nil, nil
	}
	parts := strings.Split(sub, "/")
	for i, p := range parts {
		n := findNode(t, p)
		switch {
		case n == nil:
			return nil, nil, nil, fmt.Errorf("%s: no such file or directory in the snapshot", strings.Join(parts[:i+1], "/"))
		case i == len(parts)-1:
			return x, nil, n, nil
		case n.Type != filerepo.TypeDir:
			return nil, nil, nil, fmt.Errorf("%s: not a directory in the snapshot", strings.Join(parts[:i+1], "/"))
		}
		if t, err = s.loadTree(ctx, x, *n.Subtree); err != nil {
			return nil, nil, nil, err
		}
	}
	return x, t, nil, nil
}
