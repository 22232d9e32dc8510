package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// RecoveryPointFilter selects a page of recovery points (newest first); empty fields match all.
type RecoveryPointFilter struct {
	Instance string
	Cluster  string
	// Deleted lists only the points people deleted that the vault still keeps.
	Deleted bool
	Limit   int
	Cursor  string
}

// ListRecoveryPoints lists one page of recovery points.
func (c *Client) ListRecoveryPoints(ctx context.Context, f RecoveryPointFilter) (vaultv1.List[vaultv1.RecoveryPoint], error) {
	q := pageQuery(f.Limit, f.Cursor)
	q.Set("instance", f.Instance)
	q.Set("cluster", f.Cluster)
	if f.Deleted {
		q.Set("deleted", "true")
	}
	var out vaultv1.List[vaultv1.RecoveryPoint]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/recovery-points", q), nil, &out)
}

// GetRecoveryPoint reads one recovery point.
func (c *Client) GetRecoveryPoint(ctx context.Context, name string) (vaultv1.RecoveryPoint, error) {
	var out vaultv1.RecoveryPoint
	return out, c.do(ctx, http.MethodGet, "/api/v1/recovery-points/"+url.PathEscape(name), nil, &out)
}

// VerifyRecoveryPoint queues a verification of a recovery point at req.Level (empty: data).
func (c *Client) VerifyRecoveryPoint(ctx context.Context, name string, req vaultv1.VerifyRequest) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, "/api/v1/recovery-points/"+url.PathEscape(name)+"/verify", req, &out)
}

// DeleteRecoveryPoint deletes a recovery point: the vault keeps it for its soft-delete days
// (UndeleteRecoveryPoint brings it back), then purges it.
func (c *Client) DeleteRecoveryPoint(ctx context.Context, name string) (vaultv1.RecoveryPoint, error) {
	var out vaultv1.RecoveryPoint
	return out, c.do(ctx, http.MethodDelete, "/api/v1/recovery-points/"+url.PathEscape(name), nil, &out)
}

// UndeleteRecoveryPoint brings back a deleted recovery point before its purge.
func (c *Client) UndeleteRecoveryPoint(ctx context.Context, name string) (vaultv1.RecoveryPoint, error) {
	var out vaultv1.RecoveryPoint
	return out, c.do(ctx, http.MethodPost, "/api/v1/recovery-points/"+url.PathEscape(name)+"/undelete", nil, &out)
}
