package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// Usage reads the vault's consumption per instance, with its monthly cost estimate.
func (c *Client) Usage(ctx context.Context) (vaultv1.Usage, error) {
	var out vaultv1.Usage
	return out, c.do(ctx, http.MethodGet, "/api/v1/usage", nil, &out)
}
