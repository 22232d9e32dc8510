package ui

import (
	"net/http"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// approvalsData is the approvals page: the pending requests, the recent others, and the request
// the person's own action was just held as.
type approvalsData struct {
	Pending []pendingApproval
	Decided []vaultv1.ApprovalRequest
	Held    string
}

// pendingApproval is a pending request, and whether the signed-in person made it (then they may
// only cancel it).
type pendingApproval struct {
	vaultv1.ApprovalRequest
	Mine bool
}

// approvals lists the approval requests: the pending ones with Approve and Reject for
// contributors (their own: Cancel), then the decided ones.
func (s *Server) approvals(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListApprovals(r.Context(), "", pageSize, "")
	if err != nil {
		return err
	}
	data := approvalsData{}
	if held, err := strconv.ParseInt(r.URL.Query().Get("held"), 10, 64); err == nil && held > 0 {
		data.Held = strconv.FormatInt(held, 10) // the request an action of this person's was just held as
	}
	for _, a := range list.Items {
		if a.State == "pending" {
			data.Pending = append(data.Pending, pendingApproval{ApprovalRequest: a, Mine: access.Person(a.RequestedBy) == access.Person(sess.Name)})
		} else {
			data.Decided = append(data.Decided, a)
		}
	}
	s.render(w, r, http.StatusOK, "approvals", "", view{Title: "Approvals", Nav: "approvals", Session: sess, Data: data})
	return nil
}

// decideApproval approves or rejects the request named in the path and shows the list again.
func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.renderError(w, r, sess, http.StatusNotFound, "there is no approval request "+r.PathValue("id"))
		return nil
	}
	switch r.PathValue("decision") {
	case "approve":
		_, err = c.ApproveApproval(r.Context(), id)
	case "reject":
		_, err = c.RejectApproval(r.Context(), id)
	default:
		s.renderError(w, r, sess, http.StatusNotFound, "approve or reject, not "+r.PathValue("decision"))
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
	return nil
}
