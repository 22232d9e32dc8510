package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// The server administrator's routes (docs/design/vault.md, "Vaults and the server's
// administrator"): the administrator makes, lists and deletes vaults, and makes tokens in them,
// but reads none.

// defaultFirstToken is a new vault's first token when the request names none.
var defaultFirstToken = vaultv1.TokenRequest{Name: "admin", Role: access.RoleContributor}

func (s *Server) listVaults(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	vaults, err := s.st.ListVaults(r.Context())
	if err != nil {
		return err
	}
	out := vaultv1.List[vaultv1.Vault]{Items: make([]vaultv1.Vault, 0, len(vaults))}
	for _, v := range vaults {
		out.Items = append(out.Items, apiVault(v))
	}
	return writeJSON(w, http.StatusOK, out)
}

func apiVault(v store.VaultSummary) vaultv1.Vault {
	return vaultv1.Vault{Name: v.Name, CreatedAt: v.CreatedAt, Clusters: v.Clusters, Instances: v.Instances,
		RecoveryPoints: v.RecoveryPoints, Tokens: v.Tokens}
}

// createVault makes a vault and its first token.
func (s *Server) createVault(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.VaultRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	first := defaultFirstToken
	if req.Token != nil {
		first = *req.Token
	}
	life, err := tokenLifetime(first, s.cfg.TokenLifetime)
	if err != nil {
		err = fmt.Errorf("token: %w", err)
	}
	if verr := access.ValidVaultName(req.Name); verr != nil {
		err = errors.Join(fmt.Errorf("name: %w", verr), err)
	}
	if err != nil {
		return invalid(err)
	}
	if err := s.st.CreateVault(r.Context(), req.Name); err != nil {
		return err
	}
	token, err := s.makeToken(r, access.RoleAdmin+":"+p.Name, req.Name, first, life)
	if err != nil {
		return err
	}
	noteAudit(r, fmt.Sprintf("vault %s, first token %s, role %s, expires %s", req.Name, first.Name, first.Role, token.ExpiresAt.Format(time.RFC3339)))
	v := vaultv1.Vault{Name: req.Name, CreatedAt: s.now().UTC(), Tokens: 1}
	return writeJSON(w, http.StatusCreated, vaultv1.NewVault{Vault: v, Token: token})
}

// deleteVault removes an empty vault.
func (s *Server) deleteVault(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	if err := s.st.DeleteVault(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createVaultToken makes a token in a vault, recorded in that vault's audit too.
func (s *Server) createVaultToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	name := r.PathValue("name")
	var req vaultv1.TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	life, err := tokenLifetime(req, s.cfg.TokenLifetime)
	if err != nil {
		return invalid(err)
	}
	vaults, err := s.st.Vaults(r.Context())
	if err != nil {
		return err
	}
	if !slices.Contains(vaults, name) {
		return fmt.Errorf("vault %q: %w", name, store.ErrNotFound)
	}
	token, err := s.makeToken(r, access.RoleAdmin+":"+p.Name, name, req, life)
	if err != nil {
		return err
	}
	noteAuditAlsoIn(r, name)
	noteAudit(r, fmt.Sprintf("token %s, role %s, expires %s", req.Name, req.Role, token.ExpiresAt.Format(time.RFC3339)))
	return writeJSON(w, http.StatusCreated, token)
}

// serverAudit lists the administrator's calls, newest first.
func (s *Server) serverAudit(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	list, err := s.st.ListAudit(r.Context(), "", pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiList(list, apiAuditEntry))
}
