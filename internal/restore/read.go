package restore

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
)

// ReadResult reads a recorded restore's result with every item: those of its batches, when it
// wrote its items in batches (docs/design/format.md 4.4).
func ReadResult(ctx context.Context, repo *archive.Repository, name string) (*Result, error) {
	var res Result
	if err := repo.GetRestoreResult(ctx, name, &res); err != nil {
		return nil, err
	}
	if res.ItemBatches == 0 {
		return &res, nil
	}
	items := make([]ItemResult, 0, res.Counts.Total())
	for seq := 1; seq <= res.ItemBatches; seq++ {
		var batch []ItemResult
		if err := repo.GetRestoreItems(ctx, name, seq, &batch); err != nil {
			return nil, fmt.Errorf("restore %q, item batch %d of %d: %w", name, seq, res.ItemBatches, err)
		}
		items = append(items, batch...)
	}
	res.Items = items
	return &res, nil
}

// Total counts every item.
func (c Counts) Total() int {
	return c.Created + c.Patched + c.Recreated + c.Unchanged + c.Skipped + c.Failed
}
