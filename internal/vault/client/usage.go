package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// Usage reads the vault's consumption per instance, with its monthly cost estimate.
func (c *Client) Usage(ctx context.Context) (wire.Usage, error) {
	var out wire.Usage
	return out, c.do(ctx, http.MethodGet, "/api/v1/usage", nil, &out)
}
