package api

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// policyList is the response of GET /api/v1/policies.
type policyList struct {
	Items []policy.Policy `json:"items"`
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	items, err := s.st.ListPolicies(r.Context(), p.Vault)
	if err != nil {
		return fmt.Errorf("vault %q: %w", p.Vault, err)
	}
	if items == nil {
		items = []policy.Policy{} // "items": [] rather than null
	}
	return writeJSON(w, http.StatusOK, policyList{Items: items})
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pol, err := s.st.GetPolicy(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("vault %q: %w", p.Vault, err)
	}
	return writeJSON(w, http.StatusOK, pol)
}

// createPolicy validates before storing (the store validates again), so an invalid policy is a
// 422 naming its problems and nothing is written.
func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var pol policy.Policy
	if err := decodeJSON(r, &pol); err != nil {
		return err
	}
	if err := pol.Validate(); err != nil {
		return invalid(err)
	}
	if err := s.st.CreatePolicy(r.Context(), p.Vault, pol); err != nil {
		return fmt.Errorf("vault %q: %w", p.Vault, err)
	}
	stored, err := s.st.GetPolicy(r.Context(), p.Vault, pol.Name)
	if err != nil {
		return fmt.Errorf("vault %q: read back the new policy: %w", p.Vault, err)
	}
	w.Header().Set("Location", "/api/v1/policies/"+url.PathEscape(stored.Name))
	return writeJSON(w, http.StatusCreated, stored)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if err := s.st.DeletePolicy(r.Context(), p.Vault, r.PathValue("name")); err != nil {
		return fmt.Errorf("vault %q: %w", p.Vault, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
