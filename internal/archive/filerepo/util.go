package filerepo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/cairnbackup/cairn/internal/blob"
)

func put(ctx context.Context, st blob.Storage, key string, data []byte, createOnly bool) error {
	if err := st.Put(ctx, key, bytes.NewReader(data), blob.PutOptions{IfNotExists: createOnly}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(a.Offset, b.Offset) })
}
