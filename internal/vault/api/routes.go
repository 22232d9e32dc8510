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
	minRole string // store.Role* or public; store.RoleAgent routes take only agent tokens
	handle  handlerFunc
	quiet   bool // not audited (the agent's frequent calls)
}

// routes is the API's one route table: Handler registers it; the authorisation matrix test and
// the OpenAPI test walk it.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/api/v1/openapi.json", public, s.openAPI, true},
		{http.MethodGet, "/api/v1/whoami", store.RoleReader, s.whoAmI, false},
		{http.MethodGet, "/api/v1/policies", store.RoleReader, s.listPolicies, false},
		{http.MethodGet, "/api/v1/policies/{name}", store.RoleReader, s.getPolicy, false},
		{http.MethodPost, "/api/v1/policies", store.RoleContributor, s.createPolicy, false},
		{http.MethodDelete, "/api/v1/policies/{name}", store.RoleContributor, s.deletePolicy, false},
		{http.MethodPost, "/api/v1/tokens", store.RoleContributor, s.createToken, false},
		{http.MethodGet, "/api/v1/clusters", store.RoleReader, s.listClusters, false},
		{http.MethodGet, "/api/v1/clusters/{name}", store.RoleReader, s.getCluster, false},
		{http.MethodPost, "/api/v1/clusters", store.RoleContributor, s.registerCluster, false},
		{http.MethodPost, "/api/v1/clusters/{name}/revoke", store.RoleContributor, s.revokeCluster, false},
		{http.MethodGet, "/api/v1/instances", store.RoleReader, s.listInstances, false},
		{http.MethodGet, "/api/v1/instances/{name}", store.RoleReader, s.getInstance, false},
		{http.MethodPost, "/api/v1/instances", store.RoleContributor, s.createInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/backup", store.RoleOperator, s.backupNow, false},
		{http.MethodPost, "/api/v1/instances/{name}/stop", store.RoleContributor, s.stopInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/resume", store.RoleContributor, s.resumeInstance, false},
		{http.MethodDelete, "/api/v1/instances/{name}", store.RoleContributor, s.deleteInstance, false},
		{http.MethodGet, "/api/v1/recovery-points", store.RoleReader, s.listRecoveryPoints, false},
		{http.MethodGet, "/api/v1/recovery-points/{name}", store.RoleReader, s.getRecoveryPoint, false},
		{http.MethodPost, "/api/v1/restores", store.RoleOperator, s.createRestore, false},
		{http.MethodGet, "/api/v1/jobs", store.RoleReader, s.listJobs, false},
		{http.MethodGet, "/api/v1/job-counts", store.RoleReader, s.jobCounts, false},
		{http.MethodGet, "/api/v1/jobs/{id}", store.RoleReader, s.getJob, false},
		{http.MethodGet, "/api/v1/jobs/{id}/logs", store.RoleReader, s.jobLogs, false},
		{http.MethodPost, "/api/v1/jobs/{id}/cancel", store.RoleOperator, s.cancelJob, false},
		{http.MethodGet, "/api/v1/usage", store.RoleReader, s.usage, false},
		{http.MethodGet, "/api/v1/audit", store.RoleReader, s.listAudit, false},
		{http.MethodPost, "/api/v1/agent/heartbeat", store.RoleAgent, s.agentHeartbeat, true},
		{http.MethodPost, "/api/v1/agent/claim", store.RoleAgent, s.agentClaim, true},
		{http.MethodPost, "/api/v1/agent/jobs/{id}/progress", store.RoleAgent, s.agentProgress, true},
		{http.MethodPost, "/api/v1/agent/jobs/{id}/complete", store.RoleAgent, s.agentComplete, false},
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
