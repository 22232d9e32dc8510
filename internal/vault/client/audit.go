package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// AuditFilter selects a page of the audit log (newest first).
type AuditFilter struct {
	Limit  int
	Cursor string
}

// ListAudit lists one page of the vault's audit log.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) (vaultv1.List[vaultv1.AuditEntry], error) {
	var out vaultv1.List[vaultv1.AuditEntry]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/audit", pageQuery(f.Limit, f.Cursor)), nil, &out)
}
