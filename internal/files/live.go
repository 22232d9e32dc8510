package files

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// liveSet is every blob ID some snapshot reaches.
type liveSet map[filerepo.ID]struct{}

// live reads every snapshot and every tree it reaches. A snapshot or tree that cannot be read is
// an error: a collection never decides what is garbage on a guess (§16).
func (s *Store) live(ctx context.Context, x *filerepo.Index) (liveSet, int, error) {
	snaps, err := s.Snapshots(ctx)
	if err != nil {
		return nil, 0, err
	}
	live := liveSet{}
	for _, snap := range snaps {
		if err := s.markTree(ctx, x, snap.Tree, live); err != nil {
			return nil, 0, fmt.Errorf("snapshot %s: %w", snap.ID, err)
		}
	}
	return live, len(snaps), nil
}

func (s *Store) markTree(ctx context.Context, x *filerepo.Index, id filerepo.ID, live liveSet) error {
	if _, seen := live[id]; seen {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := s.loadTree(ctx, x, id)
	if err != nil {
		return err
	}
	live[id] = struct{}{}
	for _, n := range t.Nodes {
		for _, c := range n.Content {
			if c.Hole == 0 {
				live[c.ID] = struct{}{}
			}
		}
		if n.Subtree != nil {
			if err := s.markTree(ctx, x, *n.Subtree, live); err != nil {
				return err
			}
		}
	}
	return nil
}
