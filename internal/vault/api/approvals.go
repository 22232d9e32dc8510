package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// DefaultApprovalTTL is how long an approval request waits for a second contributor.
const DefaultApprovalTTL = 24 * time.Hour

// destructive are the routes a vault that requires approval holds for a second contributor, each
// with what makes a call of it destructive (its body; nil: every call).
var destructive = map[string]func(body []byte) bool{
	"POST /api/v1/instances/{name}/stop": func(body []byte) bool {
		var req vaultv1.StopRequest
		return json.Unmarshal(body, &req) == nil && req.DeleteData
	},
	"DELETE /api/v1/instances/{name}":       nil,
	"POST /api/v1/clusters/{name}/revoke":   nil,
	"DELETE /api/v1/recovery-points/{name}": nil,
}

// replayKey carries, in an approved request's replay, its replayOf.
type replayKey struct{}

// replayOf is what an approved request's replay runs as: its requester, and which request and
// approver it comes from (for the audit entry).
type replayOf struct {
	requester access.Principal
	request   int64
	approver  string
}

// replayedAs is the principal an approved request is replayed as, if r is such a replay.
func replayedAs(r *http.Request) (access.Principal, bool) {
	rp, ok := r.Context().Value(replayKey{}).(replayOf)
	return rp.requester, ok
}

// replayAuditNote is what the audit entry of an approved request's replay adds to its object: the
// request and who approved it ("" for other calls).
func replayAuditNote(r *http.Request) string {
	if rp, ok := r.Context().Value(replayKey{}).(replayOf); ok {
		return fmt.Sprintf(" (approval request %d, approved by %s)", rp.request, rp.approver)
	}
	return ""
}

// holdForApproval answers a destructive call, when the vault requires approval, with 202 and the
// approval request it stores instead of making it. held says it did; the body is kept for the
// handler otherwise.
func (s *Server) holdForApproval(w http.ResponseWriter, r *http.Request, rt route, p access.Principal) (held bool, err error) {
	isDestructive, known := destructive[rt.method+" "+rt.pattern]
	if _, replay := replayedAs(r); !s.cfg.RequireApproval || !known || replay {
		return false, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false, badRequest("read the request body: "+err.Error(), "")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if isDestructive != nil && !isDestructive(body) {
		return false, nil
	}
	now := s.now()
	a, err := s.st.CreateApproval(r.Context(), p.Vault, store.Approval{Operation: rt.method + " " + rt.pattern, Method: r.Method,
		Path: r.URL.RequestURI(), Body: string(body), RequestedBy: p.Name, RequestedAt: now, ExpiresAt: now.Add(s.cfg.ApprovalTTL)})
	if err != nil {
		return false, err
	}
	noteAudit(r, fmt.Sprintf("held for approval as request %d", a.ID))
	w.Header().Set(vaultv1.HeaderApprovalRequest, strconv.FormatInt(a.ID, 10))
	w.Header().Set("Location", fmt.Sprintf("/api/v1/approvals/%d", a.ID))
	return true, writeJSON(w, http.StatusAccepted, apiApproval(a))
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	state := r.URL.Query().Get("state")
	if state != "" && !slices.Contains(store.ApprovalStates, state) {
		return badRequest(fmt.Sprintf("state: %q: use one of %v", state, store.ApprovalStates), "state")
	}
	list, err := s.st.ListApprovals(r.Context(), p.Vault, state, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, vaultv1.List[vaultv1.ApprovalRequest]{Items: apiAll(list.Items, apiApproval), Next: list.Next})
}

// approvalOf reads the approval request the path names.
func (s *Server) approvalOf(r *http.Request, p access.Principal) (store.Approval, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Approval{}, &apiError{status: http.StatusNotFound, code: "not_found",
			message: "approval request " + strconv.Quote(r.PathValue("id")) + ": IDs are positive numbers"}
	}
	return s.st.GetApproval(r.Context(), p.Vault, id)
}

func (s *Server) getApproval(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	a, err := s.approvalOf(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiApproval(a))
}

// approveApproval approves another contributor's pending request and replays it as its requester,
// recording the replay's outcome.
func (s *Server) approveApproval(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	a, err := s.approvalOf(r, p)
	if err != nil {
		return err
	}
	id := a.ID
	if access.Person(a.RequestedBy) == access.Person(p.Name) {
		return &apiError{status: http.StatusForbidden, code: "forbidden",
			message: fmt.Sprintf("request %d was made by %s: another contributor must approve it", id, a.RequestedBy)}
	}
	if a, err = s.st.DecideApproval(r.Context(), p.Vault, id, store.Decision{State: store.ApprovalApproved, By: p.Name}); err != nil {
		return err
	}
	noteAudit(r, fmt.Sprintf("approved request %d: %s %s by %s", id, a.Method, a.Path, a.RequestedBy))
	// Once approved, the request is replayed and its outcome recorded even if the approver goes
	// away: it cannot be approved again, so a replay cut short would leave it approved and undone.
	ctx := context.WithoutCancel(r.Context())
	state, status, message := s.replay(ctx, p.Vault, a, p.Name)
	if a, err = s.st.SetApprovalResult(ctx, p.Vault, id, state, status, message); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiApproval(a))
}

// replay runs an approved request as its requester, with the role its token holds now (a person
// signed in with single sign-on: its newest working token, from any sign-in): a requester whose
// token was revoked, expired or lowered meanwhile gets its request failed.
func (s *Server) replay(ctx context.Context, vault string, a store.Approval, approver string) (state string, status int, message string) {
	tokens, err := s.st.ListTokens(ctx, vault)
	if err != nil {
		return store.ApprovalFailed, http.StatusInternalServerError, err.Error()
	}
	var current *store.Token
	for i, t := range tokens {
		if access.Person(t.Name) == access.Person(a.RequestedBy) && (t.ExpiresAt == nil || s.now().Before(*t.ExpiresAt)) &&
			(current == nil || t.CreatedAt.After(current.CreatedAt)) {
			current = &tokens[i]
		}
	}
	if current == nil {
		return store.ApprovalFailed, http.StatusUnauthorized, fmt.Sprintf("the requester %s has no working token any more: nothing was done", a.RequestedBy)
	}
	var rt route
	for _, candidate := range s.routes() {
		if candidate.method+" "+candidate.pattern == a.Operation {
			rt = candidate
		}
	}
	if rt.handle == nil {
		return store.ApprovalFailed, http.StatusNotFound, "this vault has no route " + a.Operation + " any more"
	}
	requester := access.Principal{Vault: vault, Name: a.RequestedBy, Role: current.Role}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, replayKey{}, replayOf{requester: requester, request: a.ID, approver: approver}),
		a.Method, a.Path, bytes.NewReader([]byte(a.Body)))
	if err != nil {
		return store.ApprovalFailed, http.StatusBadRequest, err.Error()
	}
	req.RemoteAddr = "vault (approved request)"
	mux := http.NewServeMux()
	mux.Handle(rt.method+" "+rt.pattern, s.serve(rt))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		return store.ApprovalFailed, rec.Code, e.Error.Message
	}
	return store.ApprovalApproved, rec.Code, "done"
}

// rejectApproval rejects a pending request; its requester cancels it the same way.
func (s *Server) rejectApproval(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	a, err := s.approvalOf(r, p)
	if err != nil {
		return err
	}
	id := a.ID
	state := store.ApprovalRejected
	if access.Person(a.RequestedBy) == access.Person(p.Name) {
		state = store.ApprovalCancelled
	}
	if a, err = s.st.DecideApproval(r.Context(), p.Vault, id, store.Decision{State: state, By: p.Name}); err != nil {
		return err
	}
	noteAudit(r, fmt.Sprintf("%s request %d", state, id))
	return writeJSON(w, http.StatusOK, apiApproval(a))
}

func apiApproval(a store.Approval) vaultv1.ApprovalRequest {
	return vaultv1.ApprovalRequest{ID: a.ID, Operation: a.Operation, Path: a.Path, Body: a.Body, RequestedBy: a.RequestedBy,
		RequestedAt: a.RequestedAt, ExpiresAt: a.ExpiresAt, State: a.State, DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt,
		ResultStatus: a.ResultStatus, ResultMessage: a.ResultMessage}
}
