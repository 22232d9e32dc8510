package ui

import (
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// listData is a list page's rows, its filters as given and its pager.
type listData[T any] struct {
	Items  []T
	Filter map[string]string
	Pager  pager
}

func filters(r *http.Request, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = r.URL.Query().Get(k)
	}
	return out
}

// renderList renders one page of a list read with err; page names the template and the
// navigation entry.
func renderList[T any](s *Server, w http.ResponseWriter, r *http.Request, sess *session, page, title string, filter map[string]string, list vaultv1.List[T], err error) error {
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, page, "", view{Title: title, Nav: page, Session: sess,
		Data: listData[T]{Items: list.Items, Filter: filter, Pager: newPager(r, list.Next)}})
	return nil
}

func cursor(r *http.Request) string { return r.URL.Query().Get("cursor") }

func (s *Server) clusters(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListClusters(r.Context(), client.ClusterFilter{Limit: pageSize, Cursor: cursor(r)})
	return renderList(s, w, r, sess, "clusters", "Clusters", nil, list, err)
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "name", "cluster", "policy", "state")
	list, err := c.ListInstances(r.Context(), client.InstanceFilter{NameContains: f["name"], Cluster: f["cluster"], Policy: f["policy"], State: f["state"],
		Limit: pageSize, Cursor: cursor(r)})
	return renderList(s, w, r, sess, "instances", "Instances", f, list, err)
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListPolicies(r.Context())
	return renderList(s, w, r, sess, "policies", "Policies", nil, vaultv1.List[policy.Policy]{Items: list}, err)
}

func (s *Server) recoveryPoints(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "instance", "cluster", "deleted")
	list, err := c.ListRecoveryPoints(r.Context(), client.RecoveryPointFilter{Instance: f["instance"], Cluster: f["cluster"], Deleted: f["deleted"] == "true",
		Limit: pageSize, Cursor: cursor(r)})
	return renderList(s, w, r, sess, "recovery-points", "Recovery points", f, list, err)
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "state", "kind", "instance", "cluster")
	list, err := c.ListJobs(r.Context(), client.JobFilter{State: f["state"], Kind: f["kind"], Instance: f["instance"], Cluster: f["cluster"], Limit: pageSize, Cursor: cursor(r)})
	return renderList(s, w, r, sess, "jobs", "Jobs", f, list, err)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListAudit(r.Context(), client.AuditFilter{Limit: pageSize, Cursor: cursor(r)})
	return renderList(s, w, r, sess, "audit", "Audit log", nil, list, err)
}
