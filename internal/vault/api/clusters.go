package api

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	list, err := s.st.ListClustersPage(r.Context(), p.Vault, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, vaultv1.List[vaultv1.Cluster]{Items: apiAll(list.Items, apiCluster), Next: list.Next})
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	c, err := s.st.GetCluster(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiCluster(c))
}

// registerCluster grants a cluster: the answer carries the agent token, shown this once, and the
// manifest giving the agent its scoped identity in the cluster.
func (s *Server) registerCluster(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.ClusterRegistration
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := validateDNSLabel("name", req.Name, 63); err != nil {
		return err
	}
	if err := trustgrant.ValidGrant(req.Grant); err != nil {
		return unprocessable("grant", "%s", err.Error())
	}
	if req.Grant == "" {
		req.Grant = trustgrant.GrantFull
	}
	manifest := ""
	if s.cfg.TrustGrant != nil {
		var err error
		if manifest, err = s.cfg.TrustGrant(req.Name, req.Grant); err != nil {
			return fmt.Errorf("render the trust grant: %w", err)
		}
	}
	c, token, err := s.st.RegisterCluster(r.Context(), p.Vault, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/clusters/"+url.PathEscape(c.Name))
	return writeJSON(w, http.StatusCreated, vaultv1.TrustGrant{Cluster: apiCluster(c), AgentToken: token, Manifest: manifest, Grant: req.Grant})
}

func (s *Server) revokeCluster(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	c, err := s.st.RevokeCluster(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiCluster(c))
}
