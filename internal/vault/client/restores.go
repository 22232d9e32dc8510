package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// Restore queues the restore of a recovery point; the vault validates the request first (422
// naming what is wrong).
func (c *Client) Restore(ctx context.Context, req wire.RestoreRequest) (wire.Job, error) {
	var out wire.Job
	return out, c.do(ctx, http.MethodPost, "/api/v1/restores", req, &out)
}
