package filerepo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/cairnbackup/cairn/internal/blob"
)

// readAll reads a whole object, refusing one larger than limit.
func readAll(ctx context.Context, st blob.Storage, key string, limit int64) ([]byte, error) {
	return blob.ReadAll(ctx, st, key, limit)
}

func put(ctx context.Context, st blob.Storage, key string, data []byte, createOnly bool) error {
	if err := st.Put(ctx, key, bytes.NewReader(data), blob.PutOptions{IfNotExists: createOnly}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(a.Offset, b.Offset) })
}
