package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// principal is who the request speaks for: the requester an approved request is replayed as
// (with the role its token holds now, checked like a token's), else the bearer token's
// (authorize).
func (s *Server) principal(r *http.Request, rt route) (access.Principal, error) {
	p, replay := replayedAs(r)
	if !replay {
		return s.authorize(r, rt.minRole)
	}
	if !access.Allows(p.Role, rt.minRole) {
		return p, &apiError{status: http.StatusForbidden, code: "forbidden",
			message: fmt.Sprintf("%s %s needs the %s role; %s has the %s role now", r.Method, r.URL.Path, rt.minRole, p.Name, p.Role)}
	}
	return p, nil
}

// authorize returns the principal of the request's bearer token if its role is at least minRole;
// public routes need no token and get the zero Principal. The error is a 401 or 403 apiError, or
// an internal error from the store.
func (s *Server) authorize(r *http.Request, minRole string) (access.Principal, error) {
	if minRole == public {
		return access.Principal{}, nil
	}
	secret, ok := bearerToken(r)
	if !ok {
		return access.Principal{}, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
			message: "missing bearer token: send Authorization: Bearer <token>"}
	}
	p, err := s.st.LookupToken(r.Context(), secret)
	if expired, ok := errors.AsType[*store.TokenExpiredError](err); ok {
		return expired.Principal, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
			message: expired.Error() + ": ask a contributor for a new one (cairn token create)"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return access.Principal{}, &apiError{status: http.StatusUnauthorized, code: "unauthorized",
			message: "unknown bearer token"}
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	if !access.Allows(p.Role, minRole) {
		switch {
		case p.IsAdmin():
			return p, &apiError{status: http.StatusForbidden, code: "forbidden",
				message: fmt.Sprintf("%s %s needs the %s role of a vault's token; token %q is the server administrator's, which manages vaults and reads none: make a token in the vault (cairn vault token VAULT)", r.Method, r.URL.Path, minRole, p.Name)}
		case minRole == access.RoleAdmin:
			return p, &apiError{status: http.StatusForbidden, code: "forbidden",
				message: fmt.Sprintf("%s %s needs the server administrator's token (server-admin.token in the vault's data dir, or cairn vault issue-token --admin); token %q is a vault's", r.Method, r.URL.Path, p.Name)}
		}
		if p.IsAgent() || minRole == access.RoleAgent {
			return p, &apiError{status: http.StatusForbidden, code: "forbidden",
				message: fmt.Sprintf("%s %s takes %s; token %q is %s", r.Method, r.URL.Path, tokenKind(minRole), p.Name, tokenKind(p.Role))}
		}
		return p, &apiError{status: http.StatusForbidden, code: "forbidden",
			message: fmt.Sprintf("%s %s needs the %s role; token %q has the %s role", r.Method, r.URL.Path, minRole, p.Name, p.Role)}
	}
	return p, nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header (the scheme is
// case-insensitive, RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func tokenKind(role string) string {
	if role == access.RoleAgent {
		return "a cluster's agent token"
	}
	return "a user token"
}
