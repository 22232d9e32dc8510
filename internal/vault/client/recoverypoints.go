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
	Limit    int
	Cursor   string
}

// ListRecoveryPoints lists one page of recovery points.
func (c *Client) ListRecoveryPoints(ctx context.Context, f RecoveryPointFilter) (vaultv1.List[vaultv1.RecoveryPoint], error) {
	q := pageQuery(f.Limit, f.Cursor)
	q.Set("instance", f.Instance)
	q.Set("cluster", f.Cluster)
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
