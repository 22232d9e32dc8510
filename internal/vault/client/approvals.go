package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// ApprovalPending is the answer to a destructive call that the vault held for a second
// contributor's approval: nothing was done yet.
type ApprovalPending struct {
	Request vaultv1.ApprovalRequest
}

func (p *ApprovalPending) Error() string {
	return fmt.Sprintf("waiting for approval: request %d (another contributor runs: cairn approval approve %d)", p.Request.ID, p.Request.ID)
}

// ListApprovals lists one page of approval requests in state ("" for all), newest first.
func (c *Client) ListApprovals(ctx context.Context, state string, limit int, cursor string) (vaultv1.List[vaultv1.ApprovalRequest], error) {
	q := pageQuery(limit, cursor)
	q.Set("state", state)
	var out vaultv1.List[vaultv1.ApprovalRequest]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/approvals", q), nil, &out)
}

// GetApproval reads an approval request.
func (c *Client) GetApproval(ctx context.Context, id int64) (vaultv1.ApprovalRequest, error) {
	var out vaultv1.ApprovalRequest
	return out, c.do(ctx, http.MethodGet, "/api/v1/approvals/"+url.PathEscape(strconv.FormatInt(id, 10)), nil, &out)
}

// ApproveApproval approves another contributor's request: the vault runs it.
func (c *Client) ApproveApproval(ctx context.Context, id int64) (vaultv1.ApprovalRequest, error) {
	var out vaultv1.ApprovalRequest
	return out, c.do(ctx, http.MethodPost, "/api/v1/approvals/"+strconv.FormatInt(id, 10)+"/approve", nil, &out)
}

// RejectApproval rejects a request (cancels it, for its requester).
func (c *Client) RejectApproval(ctx context.Context, id int64) (vaultv1.ApprovalRequest, error) {
	var out vaultv1.ApprovalRequest
	return out, c.do(ctx, http.MethodPost, "/api/v1/approvals/"+strconv.FormatInt(id, 10)+"/reject", nil, &out)
}
