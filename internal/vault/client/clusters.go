package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// ClusterFilter selects a page of clusters.
type ClusterFilter struct {
	Limit  int
	Cursor string
}

// ListClusters lists one page of the vault's clusters.
func (c *Client) ListClusters(ctx context.Context, f ClusterFilter) (vaultv1.List[vaultv1.Cluster], error) {
	var out vaultv1.List[vaultv1.Cluster]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/clusters", pageQuery(f.Limit, f.Cursor)), nil, &out)
}

// GetCluster reads one cluster.
func (c *Client) GetCluster(ctx context.Context, name string) (vaultv1.Cluster, error) {
	var out vaultv1.Cluster
	return out, c.do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(name), nil, &out)
}

// RegisterCluster registers a cluster (or registers a revoked one anew) and returns its trust
// grant: the agent's token, shown only here, and the manifest of the agent's identity.
func (c *Client) RegisterCluster(ctx context.Context, reg vaultv1.ClusterRegistration) (vaultv1.TrustGrant, error) {
	var out vaultv1.TrustGrant
	return out, c.do(ctx, http.MethodPost, "/api/v1/clusters", reg, &out)
}

// RevokeCluster revokes a cluster's trust grant: its agent's next call is refused and its queued
// and running jobs fail.
func (c *Client) RevokeCluster(ctx context.Context, name string) (vaultv1.Cluster, error) {
	var out vaultv1.Cluster
	return out, c.do(ctx, http.MethodPost, "/api/v1/clusters/"+url.PathEscape(name)+"/revoke", nil, &out)
}
