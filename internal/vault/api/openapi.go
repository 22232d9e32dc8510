package api

import (
	_ "embed" // the OpenAPI document
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// openAPIDoc is the API's OpenAPI 3.0 document; docs/api/openapi.json is a byte-identical copy.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ access.Principal) error {
	w.WriteHeader(http.StatusOK)
	// A failed write means the client went away; the audit line still records the status.
	_, _ = w.Write(openAPIDoc)
	return nil
}
