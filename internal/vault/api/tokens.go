package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// tokenResponse carries the new token's secret, shown this once (the store keeps its hash).
type tokenResponse struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Token string `json:"token"`
}

// validate returns every problem of the request, each starting with its field.
func (t tokenRequest) validate() error {
	var errs []error
	if t.Name == "" {
		errs = append(errs, errors.New("name: required (who or what uses the token)"))
	}
	if err := access.ValidUserRole(t.Role); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// createToken makes a token in the caller's vault. Only contributors may, and contributor is the
// highest role, so no caller can make a token that outranks its own.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return invalid(err)
	}
	secret, err := s.st.CreateToken(r.Context(), p.Vault, req.Name, req.Role)
	if err != nil {
		return fmt.Errorf("vault %q: %w", p.Vault, err)
	}
	return writeJSON(w, http.StatusCreated, tokenResponse{Name: req.Name, Role: req.Role, Token: secret})
}
