package files

import (
	"context"
	"path"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// Entry is one node of a snapshot with its path inside it.
type Entry struct {
	Path string        `json:"path"`
	Node filerepo.Node `json:"node"`
}

// List returns the entries of the directory at sub in the snapshot (or the one entry sub names),
// with their sub-directories' entries when recursive.
func (s *Store) List(ctx context.Context, snap *filerepo.Snapshot, sub string, recursive bool) ([]Entry, error) {
	x, dir, node, err := s.locate(ctx, snap, sub)
	if err != nil {
		return nil, err
	}
	if node != nil && node.Type != filerepo.TypeDir {
		return []Entry{{Path: path.Clean(sub), Node: *node}}, nil
	}
	if node != nil {
		if dir, err = s.loadTree(ctx, x, *node.Subtree); err != nil {
			return nil, err
		}
	}
	var out []Entry
	var walk func(prefix string, t *filerepo.Tree) error
	walk = func(prefix string, t *filerepo.Tree) error {
		for _, n := range t.Nodes {
			p := path.Join(prefix, n.Name)
			out = append(out, Entry{Path: p, Node: n})
			if recursive && n.Type == filerepo.TypeDir {
				sub, err := s.loadTree(ctx, x, *n.Subtree)
				if err != nil {
					return err
				}
				if err := walk(p, sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(path.Clean("/" + sub)[1:], dir)
}

// Forget deletes a snapshot's record; the next collections free what only it used.
func (s *Store) Forget(ctx context.Context, id string) error {
	return filerepo.DeleteSnapshot(ctx, s.st, id)
}
