package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// public is the minRole of routes that need no token.
const public = ""

// handlerFunc serves one route for an authorised principal (the zero Principal on public routes).
// It writes the response on success; on failure it writes nothing and returns the error.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p access.Principal) error

// route is one API operation and the least role allowed to call it.
type route struct {
	method  string
	pattern string // http.ServeMux pattern without the method
	minRole string // access.Role* or public; access.RoleAgent and access.RoleAdmin routes take only their own tokens
	handle  handlerFunc
	quiet   bool // not audited (the agent's frequent calls)
}

// routes is the API's one route table: Handler registers it; the authorisation matrix test and
// the OpenAPI test walk it.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/api/v1/openapi.json", public, s.openAPI, true},
		{http.MethodGet, "/api/v1/sso", public, s.ssoSettings, true},
		{http.MethodPost, "/api/v1/sso/token", public, s.ssoToken, false},
		{http.MethodPost, "/api/v1/sso/revoke", public, s.ssoRevoke, false},
		{http.MethodGet, "/api/v1/whoami", access.RoleAny, s.whoAmI, false},
		{http.MethodGet, "/api/v1/vaults", access.RoleAdmin, s.listVaults, false},
		{http.MethodPost, "/api/v1/vaults", access.RoleAdmin, s.createVault, false},
		{http.MethodDelete, "/api/v1/vaults/{name}", access.RoleAdmin, s.deleteVault, false},
		{http.MethodPost, "/api/v1/vaults/{name}/tokens", access.RoleAdmin, s.createVaultToken, false},
		{http.MethodGet, "/api/v1/server-audit", access.RoleAdmin, s.serverAudit, false},
		{http.MethodGet, "/api/v1/policies", access.RoleReader, s.listPolicies, false},
		{http.MethodGet, "/api/v1/policies/{name}", access.RoleReader, s.getPolicy, false},
		{http.MethodPost, "/api/v1/policies", access.RoleContributor, s.createPolicy, false},
		{http.MethodDelete, "/api/v1/policies/{name}", access.RoleContributor, s.deletePolicy, false},
		{http.MethodGet, "/api/v1/tokens", access.RoleContributor, s.listTokens, false},
		{http.MethodPost, "/api/v1/tokens", access.RoleContributor, s.createToken, false},
		{http.MethodDelete, "/api/v1/tokens/{name}", access.RoleContributor, s.revokeToken, false},
		{http.MethodGet, "/api/v1/clusters", access.RoleReader, s.listClusters, false},
		{http.MethodGet, "/api/v1/clusters/{name}", access.RoleReader, s.getCluster, false},
		{http.MethodPost, "/api/v1/clusters", access.RoleContributor, s.registerCluster, false},
		{http.MethodPost, "/api/v1/clusters/{name}/revoke", access.RoleContributor, s.revokeCluster, false},
		{http.MethodGet, "/api/v1/instances", access.RoleReader, s.listInstances, false},
		{http.MethodGet, "/api/v1/instances/{name}", access.RoleReader, s.getInstance, false},
		{http.MethodPost, "/api/v1/instances", access.RoleContributor, s.createInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/backup", access.RoleOperator, s.backupNow, false},
		{http.MethodPost, "/api/v1/instances/{name}/validate", access.RoleOperator, s.validateInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/reconcile", access.RoleOperator, s.reconcileInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/test-restore", access.RoleOperator, s.testRestoreInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/stop", access.RoleContributor, s.stopInstance, false},
		{http.MethodPost, "/api/v1/instances/{name}/resume", access.RoleContributor, s.resumeInstance, false},
		{http.MethodDelete, "/api/v1/instances/{name}", access.RoleContributor, s.deleteInstance, false},
		{http.MethodGet, "/api/v1/recovery-points", access.RoleReader, s.listRecoveryPoints, false},
		{http.MethodGet, "/api/v1/recovery-points/{name}", access.RoleReader, s.getRecoveryPoint, false},
		{http.MethodDelete, "/api/v1/recovery-points/{name}", access.RoleContributor, s.deleteRecoveryPoint, false},
		{http.MethodPost, "/api/v1/recovery-points/{name}/undelete", access.RoleOperator, s.undeleteRecoveryPoint, false},
		{http.MethodPost, "/api/v1/recovery-points/{name}/verify", access.RoleOperator, s.verifyRecoveryPoint, false},
		{http.MethodPost, "/api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/browse", access.RoleOperator, s.browseVolume, false},
		{http.MethodPost, "/api/v1/recovery-points/{name}/volumes/{namespace}/{claim}/fetch", access.RoleOperator, s.fetchVolumeFile, false},
		{http.MethodPost, "/api/v1/restores", access.RoleOperator, s.createRestore, false},
		{http.MethodGet, "/api/v1/jobs", access.RoleReader, s.listJobs, false},
		{http.MethodGet, "/api/v1/job-counts", access.RoleReader, s.jobCounts, false},
		{http.MethodGet, "/api/v1/jobs/{id}", access.RoleReader, s.getJob, false},
		{http.MethodGet, "/api/v1/jobs/{id}/logs", access.RoleReader, s.jobLogs, false},
		{http.MethodPost, "/api/v1/jobs/{id}/cancel", access.RoleOperator, s.cancelJob, false},
		{http.MethodGet, "/api/v1/jobs/{id}/content", access.RoleOperator, s.jobContent, false},
		{http.MethodGet, "/api/v1/usage", access.RoleReader, s.usage, false},
		{http.MethodGet, "/api/v1/audit", access.RoleReader, s.listAudit, false},
		{http.MethodGet, "/api/v1/approvals", access.RoleReader, s.listApprovals, false},
		{http.MethodGet, "/api/v1/approvals/{id}", access.RoleReader, s.getApproval, false},
		{http.MethodPost, "/api/v1/approvals/{id}/approve", access.RoleContributor, s.approveApproval, false},
		{http.MethodPost, "/api/v1/approvals/{id}/reject", access.RoleContributor, s.rejectApproval, false},
		{http.MethodGet, "/api/v1/notification-rules", access.RoleReader, s.listNotificationRules, false},
		{http.MethodGet, "/api/v1/notification-rules/{name}", access.RoleReader, s.getNotificationRule, false},
		{http.MethodPost, "/api/v1/notification-rules", access.RoleContributor, s.createNotificationRule, false},
		{http.MethodDelete, "/api/v1/notification-rules/{name}", access.RoleContributor, s.deleteNotificationRule, false},
		{http.MethodPost, "/api/v1/notification-rules/{name}/test", access.RoleOperator, s.testNotificationRule, false},
		{http.MethodGet, "/api/v1/notifications", access.RoleReader, s.listDeliveries, false},
		{http.MethodGet, "/api/v1/notifications/{id}", access.RoleReader, s.getDelivery, false},
		{http.MethodPost, "/api/v1/agent/heartbeat", access.RoleAgent, s.agentHeartbeat, true},
		{http.MethodPost, "/api/v1/agent/claim", access.RoleAgent, s.agentClaim, true},
		{http.MethodPost, "/api/v1/agent/jobs/{id}/progress", access.RoleAgent, s.agentProgress, true},
		{http.MethodPost, "/api/v1/agent/jobs/{id}/complete", access.RoleAgent, s.agentComplete, false},
		{http.MethodPut, agentContentPattern, access.RoleAgent, s.agentContent, false},
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
