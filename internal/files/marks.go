package files

import (
	"context"
	"errors"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
)

// listing is one copy of a blob: its pack and ID.
type listing struct {
	pack filerepo.Name
	id   filerepo.ID
}

// readMarks reads marks of collections (§16): the listings they name and the packs they found in
// no index. With goneOK a mark deleted meanwhile (by a collection, while a backup reads) is
// passed over.
func (s *Store) readMarks(ctx context.Context, marks []filerepo.MarkInfo, goneOK bool) (map[listing]bool, []filerepo.Name, error) {
	marked := map[listing]bool{}
	var unindexed []filerepo.Name
	for _, mi := range marks {
		m, err := filerepo.LoadMark(ctx, s.st, s.keys, mi.Name)
		if goneOK && errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, p := range m.Packs {
			for _, e := range p.Entries {
				marked[listing{p.Pack, e.ID}] = true
			}
		}
		unindexed = append(unindexed, m.Unindexed...)
	}
	return marked, unindexed, nil
}

// condemned says which listings a backup may deduplicate against: none that a mark names, since
// a later collection deletes them (§16). nil when there is no mark.
func (s *Store) condemned(ctx context.Context) (func(filerepo.Location) bool, error) {
	marks, err := filerepo.ListMarks(ctx, s.st)
	if err != nil || len(marks) == 0 {
		return nil, err
	}
	marked, _, err := s.readMarks(ctx, marks, true)
	if err != nil {
		return nil, err
	}
	return func(l filerepo.Location) bool { return !marked[listing{l.Pack, l.ID}] }, nil
}
