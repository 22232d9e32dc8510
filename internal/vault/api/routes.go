package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// public is the minRole of routes that need no token.
const public = ""

// handlerFunc serves one route for an authorised principal (the zero Principal on public routes).
// It writes the response on success; on failure it writes nothing and returns the error.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p store.Principal) error

// route is one API operation and the least role allowed to call it.
type route struct {
	method  string
	pattern string // http.ServeMux pattern without the method
	minRole string // store.Role* or public
	handle  handlerFunc
}

// routes is the API's one route table: Handler registers it; the authorisation matrix test and
// the OpenAPI test walk it.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/api/v1/openapi.json", public, s.openAPI},
		{http.MethodGet, "/api/v1/whoami", store.RoleReader, s.whoAmI},
		{http.MethodGet, "/api/v1/policies", store.RoleReader, s.listPolicies},
		{http.MethodGet, "/api/v1/policies/{name}", store.RoleReader, s.getPolicy},
		{http.MethodPost, "/api/v1/policies", store.RoleContributor, s.createPolicy},
		{http.MethodDelete, "/api/v1/policies/{name}", store.RoleContributor, s.deletePolicy},
		{http.MethodPost, "/api/v1/tokens", store.RoleContributor, s.createToken},
	}
}

// serveUnmatched answers a request no route matches: 405 with an Allow header when the path
// exists for other methods (of methods, those the route table uses), else 404.
func (s *Server) serveUnmatched(w http.ResponseWriter, r *http.Request, mux *http.ServeMux, methods map[string]bool) {
	var allow []string
	for m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found", message: "no such API path: " + r.URL.Path})
		return
	}
	slices.Sort(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, &apiError{
		status:  http.StatusMethodNotAllowed,
		code:    "method_not_allowed",
		message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, " or "),
	})
}
