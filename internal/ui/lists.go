package ui

import (
	"net/http"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/wire"
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

func (s *Server) clusters(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListClusters(r.Context(), client.ClusterFilter{Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "clusters", "", view{Title: "Clusters", Nav: "clusters", Session: sess,
		Data: listData[wire.Cluster]{Items: list.Items, Pager: newPager(r, list.Next)}})
	return nil
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "cluster", "policy", "state")
	list, err := c.ListInstances(r.Context(), client.InstanceFilter{Cluster: f["cluster"], Policy: f["policy"], State: f["state"],
		Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "instances", "", view{Title: "Instances", Nav: "instances", Session: sess,
		Data: listData[wire.Instance]{Items: list.Items, Filter: f, Pager: newPager(r, list.Next)}})
	return nil
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "policies", "", view{Title: "Policies", Nav: "policies", Session: sess,
		Data: listData[policy.Policy]{Items: list}})
	return nil
}

func (s *Server) recoveryPoints(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "instance", "cluster")
	list, err := c.ListRecoveryPoints(r.Context(), client.RecoveryPointFilter{Instance: f["instance"], Cluster: f["cluster"],
		Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "recovery-points", "", view{Title: "Recovery points", Nav: "recovery-points", Session: sess,
		Data: listData[wire.RecoveryPoint]{Items: list.Items, Filter: f, Pager: newPager(r, list.Next)}})
	return nil
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	f := filters(r, "state", "kind", "instance", "cluster")
	list, err := c.ListJobs(r.Context(), client.JobFilter{State: f["state"], Kind: f["kind"], Instance: f["instance"], Cluster: f["cluster"],
		Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "jobs", "", view{Title: "Jobs", Nav: "jobs", Session: sess,
		Data: listData[wire.Job]{Items: list.Items, Filter: f, Pager: newPager(r, list.Next)}})
	return nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	list, err := c.ListAudit(r.Context(), client.AuditFilter{Limit: pageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "audit", "", view{Title: "Audit log", Nav: "audit", Session: sess,
		Data: listData[wire.AuditEntry]{Items: list.Items, Pager: newPager(r, list.Next)}})
	return nil
}
