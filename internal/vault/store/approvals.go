package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Approval states: a request waits pending until a second contributor approves it (then it is
// replayed: approved, or failed when the replay was refused), rejects it, its requester cancels it
// or it expires.
const (
	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalFailed    = "failed"
	ApprovalRejected  = "rejected"
	ApprovalCancelled = "cancelled"
	ApprovalExpired   = "expired"
)

// ApprovalStates lists the states, pending first.
var ApprovalStates = []string{ApprovalPending, ApprovalApproved, ApprovalFailed, ApprovalRejected, ApprovalCancelled, ApprovalExpired}

// Approval is a destructive call held for a second contributor's approval.
type Approval struct {
	ID          int64
	Operation   string // METHOD pattern of the route
	Method      string
	Path        string // the request's path and query
	Body        string
	RequestedBy string
	RequestedAt time.Time
	ExpiresAt   time.Time
	State       string
	DecidedBy   string
	DecidedAt   *time.Time
	// ResultStatus and ResultMessage are the replay's answer (0 and "" until replayed).
	ResultStatus  int
	ResultMessage string
}

// Decision ends a pending approval: its new state, by whom, and the replay's outcome.
type Decision struct {
	State, By     string
	ResultStatus  int
	ResultMessage string
}

const approvalColumns = `id, operation, method, path, body, requested_by, requested_at, expires_at, state, decided_by, decided_at,
	result_status, result_message`

// CreateApproval stores a pending approval request (a.ID and a.State are ignored; a zero
// a.RequestedAt is now) and returns it.
func (s *Store) CreateApproval(ctx context.Context, vault string, a Approval) (Approval, error) {
	if a.RequestedAt.IsZero() {
		a.RequestedAt = s.now()
	}
	var id int64
	err := s.writes.QueryRowContext(ctx, `INSERT INTO approvals (vault, operation, method, path, body, requested_by, requested_at,
		expires_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		vault, a.Operation, a.Method, a.Path, a.Body, a.RequestedBy, a.RequestedAt.UTC(), a.ExpiresAt.UTC(), ApprovalPending).Scan(&id)
	if err != nil {
		return Approval{}, fmt.Errorf("store the approval request: %w", err)
	}
	return s.GetApproval(ctx, vault, id)
}

// GetApproval reads one approval request, marking it expired when its time has passed.
func (s *Store) GetApproval(ctx context.Context, vault string, id int64) (Approval, error) {
	if err := s.expireApprovals(ctx, vault); err != nil {
		return Approval{}, err
	}
	a, err := scanApproval(s.db.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE vault = $1 AND id = $2`, vault, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("approval request %d: %w", id, ErrNotFound)
	}
	return a, err
}

// ListApprovals returns the vault's approval requests in state ("" for all), newest first.
func (s *Store) ListApprovals(ctx context.Context, vault, state string, page Page) (List[Approval], error) {
	out := List[Approval]{Items: []Approval{}}
	limit, before, err := page.bounds()
	if err != nil {
		return out, err
	}
	if err := s.expireApprovals(ctx, vault); err != nil {
		return out, err
	}
	var c conditions
	c.add("vault = ?", vault)
	c.addIf("state = ?", state)
	c.add("id < ?", before)
	rows, err := s.db.QueryContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE `+c.where()+` ORDER BY id DESC LIMIT `+c.param(limit), c.args...)
	if err != nil {
		return out, fmt.Errorf("list approval requests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, a)
	}
	if n := len(out.Items); n > 0 {
		out.Next = next(n, limit, out.Items[n-1].ID)
	}
	return out, rows.Err()
}

// DecideApproval ends a pending approval request as d says. One that is not pending (decided,
// or expired meanwhile) is ErrConflict: two contributors approving at once replay it once.
func (s *Store) DecideApproval(ctx context.Context, vault string, id int64, d Decision) (Approval, error) {
	if err := s.expireApprovals(ctx, vault); err != nil {
		return Approval{}, err
	}
	res, err := s.writes.ExecContext(ctx, `UPDATE approvals SET state = $1, decided_by = $2, decided_at = $3, result_status = $4,
		result_message = $5 WHERE vault = $6 AND id = $7 AND state = $8`,
		d.State, d.By, s.now().UTC(), d.ResultStatus, d.ResultMessage, vault, id, ApprovalPending)
	if err != nil {
		return Approval{}, fmt.Errorf("decide approval request %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		a, err := s.GetApproval(ctx, vault, id)
		if err != nil {
			return a, err
		}
		return a, fmt.Errorf("approval request %d is %s, not pending: %w", id, a.State, ErrConflict)
	}
	return s.GetApproval(ctx, vault, id)
}

// ReplayInterruptedAfter is how long an approved request may wait for its replay's outcome: a
// replay answers in seconds, so one without an outcome after this was cut short by the vault
// stopping, and its request is failed rather than left approved and undone.
const ReplayInterruptedAfter = 10 * time.Minute

// replayInterrupted is the message of a request whose replay was cut short.
const replayInterrupted = "the vault stopped while replaying this request: it may be done in part or not at all; " +
	"check the object, and request again if it is still there"

// expireApprovals marks the vault's pending requests past their expiry expired, and fails the
// approved ones whose replay was cut short (ReplayInterruptedAfter).
func (s *Store) expireApprovals(ctx context.Context, vault string) error {
	now := s.now().UTC()
	if _, err := s.writes.ExecContext(ctx, `UPDATE approvals SET state = $1 WHERE vault = $2 AND state = $3 AND expires_at <= $4`,
		ApprovalExpired, vault, ApprovalPending, now); err != nil {
		return fmt.Errorf("expire approval requests: %w", err)
	}
	if _, err := s.writes.ExecContext(ctx, `UPDATE approvals SET state = $1, result_message = $2 WHERE vault = $3 AND state = $4
		AND result_status = 0 AND decided_at <= $5`,
		ApprovalFailed, replayInterrupted, vault, ApprovalApproved, now.Add(-ReplayInterruptedAfter)); err != nil {
		return fmt.Errorf("fail interrupted approval replays: %w", err)
	}
	return nil
}

func scanApproval(row scanner) (Approval, error) {
	var a Approval
	var decided sql.NullTime
	err := row.Scan(&a.ID, &a.Operation, &a.Method, &a.Path, &a.Body, &a.RequestedBy, &a.RequestedAt, &a.ExpiresAt, &a.State, &a.DecidedBy,
		&decided, &a.ResultStatus, &a.ResultMessage)
	a.RequestedAt, a.ExpiresAt, a.DecidedAt = a.RequestedAt.UTC(), a.ExpiresAt.UTC(), utcPtr(decided)
	return a, err
}

// SetApprovalResult records the outcome of an approved request's replay: state approved or
// failed, with the replay's status and message.
func (s *Store) SetApprovalResult(ctx context.Context, vault string, id int64, state string, status int, message string) (Approval, error) {
	if _, err := s.writes.ExecContext(ctx, `UPDATE approvals SET state = $1, result_status = $2, result_message = $3 WHERE vault = $4 AND id = $5`,
		state, status, message, vault, id); err != nil {
		return Approval{}, fmt.Errorf("record the outcome of approval request %d: %w", id, err)
	}
	return s.GetApproval(ctx, vault, id)
}
