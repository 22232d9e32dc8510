package api

import (
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// whoAmIResponse says whom the caller's token speaks for.
type whoAmIResponse struct {
	Vault string `json:"vault"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

func (s *Server) whoAmI(w http.ResponseWriter, _ *http.Request, p access.Principal) error {
	return writeJSON(w, http.StatusOK, whoAmIResponse{Vault: p.Vault, Name: p.Name, Role: p.Role})
}
