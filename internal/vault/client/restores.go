package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// Restore queues the restore of a recovery point; the vault validates the request first (422
// naming what is wrong).
func (c *Client) Restore(ctx context.Context, req vaultv1.RestoreRequest) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, "/api/v1/restores", req, &out)
}
