package vaultv1

import "time"

// ApprovalRequest is a destructive call held until a second contributor approves it (the vault
// runs with --require-approval): docs/design/vault.md, "Approvals".
type ApprovalRequest struct {
	ID int64 `json:"id"`
	// Operation is the route: METHOD and pattern, e.g. "DELETE /api/v1/instances/{name}".
	Operation string `json:"operation"`
	// Path is the request's path (and query); Body its JSON body, if any.
	Path        string    `json:"path"`
	Body        string    `json:"body,omitempty"`
	RequestedBy string    `json:"requestedBy"`
	RequestedAt time.Time `json:"requestedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	// State is pending, approved (replayed and done), failed (replayed and refused), rejected,
	// cancelled (by its requester) or expired.
	State     string     `json:"state"`
	DecidedBy string     `json:"decidedBy,omitempty"`
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
	// ResultStatus and ResultMessage are the replayed call's answer.
	ResultStatus  int    `json:"resultStatus,omitempty"`
	ResultMessage string `json:"resultMessage,omitempty"`
}

// HeaderApprovalRequest, on a 202 answer, says the call was not made but held as the approval
// request it names (its ID); the body is the ApprovalRequest.
const HeaderApprovalRequest = "Cairn-Approval-Request"
