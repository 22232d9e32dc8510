package filerepo

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairnbackup/cairn/internal/blob"
)

// readAll reads a whole object, refusing one larger than limit.
func readAll(ctx context.Context, st blob.Storage, key string, limit int64) ([]byte, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", key, limit, errors.ErrUnsupported)
	}
	return data, nil
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
