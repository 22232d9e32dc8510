package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ReadAll reads the whole object at key, refusing one larger than limit bytes: readers of
// stored files are bounded, so a crafted object cannot make them allocate without end. An object
// too large fails with an error wrapping errors.ErrUnsupported.
func ReadAll(ctx context.Context, st Storage, key string, limit int64) ([]byte, error) {
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
