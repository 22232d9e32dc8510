package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// InstanceFilter selects a page of instances; empty fields match all.
type InstanceFilter struct {
	Cluster string
	Policy  string
	State   string // vaultv1.Instance* states
	// NameContains keeps the instances whose names contain it, in any case.
	NameContains string
	Limit        int
	Cursor       string
}

// ListInstances lists one page of the vault's instances.
func (c *Client) ListInstances(ctx context.Context, f InstanceFilter) (vaultv1.List[vaultv1.Instance], error) {
	q := pageQuery(f.Limit, f.Cursor)
	q.Set("cluster", f.Cluster)
	q.Set("policy", f.Policy)
	q.Set("state", f.State)
	q.Set("nameContains", f.NameContains)
	var out vaultv1.List[vaultv1.Instance]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/instances", q), nil, &out)
}

// GetInstance reads one instance.
func (c *Client) GetInstance(ctx context.Context, name string) (vaultv1.Instance, error) {
	var out vaultv1.Instance
	return out, c.do(ctx, http.MethodGet, instancePath(name), nil, &out)
}

// CreateInstance creates an instance: the cluster and the policy must exist.
func (c *Client) CreateInstance(ctx context.Context, spec vaultv1.InstanceSpec) (vaultv1.Instance, error) {
	var out vaultv1.Instance
	return out, c.do(ctx, http.MethodPost, "/api/v1/instances", spec, &out)
}

// BackupNow queues an on-demand backup of an instance.
func (c *Client) BackupNow(ctx context.Context, name string, req vaultv1.BackupNowRequest) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/backup", req, &out)
}

// ValidateInstance queues a validation of the instance: its agent checks what a backup will need.
func (c *Client) ValidateInstance(ctx context.Context, name string) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/validate", nil, &out)
}

// ReconcileInstance queues the first page of the inventory of the instance's repository, which
// rebuilds its catalogue from storage; each page queues the next.
func (c *Client) ReconcileInstance(ctx context.Context, name string) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/reconcile", nil, &out)
}

// TestRestoreInstance queues a test restore of the instance.
func (c *Client) TestRestoreInstance(ctx context.Context, name string, req vaultv1.TestRestoreRequest) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/test-restore", req, &out)
}

// StopInstance stops an instance's scheduled backups; with DeleteData its recovery points are
// deleted too.
func (c *Client) StopInstance(ctx context.Context, name string, req vaultv1.StopRequest) (vaultv1.Instance, error) {
	var out vaultv1.Instance
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/stop", req, &out)
}

// ResumeInstance resumes a stopped instance's scheduled backups.
func (c *Client) ResumeInstance(ctx context.Context, name string) (vaultv1.Instance, error) {
	var out vaultv1.Instance
	return out, c.do(ctx, http.MethodPost, instancePath(name)+"/resume", nil, &out)
}

// DeleteInstance deletes an instance; the vault refuses it (409) unless the instance is stopped
// and has no recovery point left.
func (c *Client) DeleteInstance(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, instancePath(name), nil, nil)
}

func instancePath(name string) string { return "/api/v1/instances/" + url.PathEscape(name) }
