package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/sso"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// The names of single sign-on tokens: access.SSOPrefix, the person's username (at most
// ssoUsernameMax characters of it), ':' and a random suffix. ':' is refused in the names people
// give tokens (access.ValidTokenName), so these cannot be mistaken for theirs.
const ssoUsernameMax = 40

var errNoSSO = &apiError{status: http.StatusNotFound, code: "not_found",
	message: "this vault has no single sign-on configured (vault serve --oidc-config): sign in with a token"}

// ssoSettings tells a client how to sign a person in with the vault's provider (device grant).
func (s *Server) ssoSettings(w http.ResponseWriter, _ *http.Request, _ access.Principal) error {
	if s.cfg.SSO == nil {
		return errNoSSO
	}
	c := s.cfg.SSO.Config()
	return writeJSON(w, http.StatusOK, vaultv1.SSOSettings{Issuer: c.Issuer, ClientID: c.DeviceClientID, ProviderName: c.ProviderName,
		Scopes: c.Scopes})
}

// ssoToken exchanges an ID token of the vault's provider for a vault token of the role the
// person's groups map to (docs/design/vault.md, "Single sign-on").
func (s *Server) ssoToken(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	if s.cfg.SSO == nil {
		return errNoSSO
	}
	var req vaultv1.SSOTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.IDToken == "" {
		return invalid(errors.New("idToken: required (the ID token the provider issued)"))
	}
	c := s.cfg.SSO.Config()
	id, err := s.cfg.SSO.Verify(r.Context(), req.IDToken, c.DeviceClientID, c.ClientID)
	if invalidToken, ok := errors.AsType[*sso.InvalidTokenError](err); ok {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: invalidToken.Error()}
	}
	if unreachable, ok := errors.AsType[*sso.UnreachableError](err); ok {
		s.log.ErrorContext(r.Context(), "single sign-on: the provider cannot be reached", "issuer", unreachable.Issuer, "error", unreachable.Err.Error())
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: unreachable.Error()}
	}
	if err != nil {
		return err
	}
	roles := c.Roles(id.Groups)
	vault, where := req.Vault, "vault "+req.Vault
	if vault == "" {
		switch len(roles) {
		case 0:
			where = "any vault (" + strings.Join(slices.Sorted(maps.Keys(c.Vaults)), ", ") + ")"
		case 1:
			for v := range roles {
				vault = v
			}
		default:
			var have []string
			for _, v := range slices.Sorted(maps.Keys(roles)) {
				have = append(have, fmt.Sprintf("%s (%s)", v, roles[v]))
			}
			return &apiError{status: http.StatusConflict, code: "conflict",
				message: fmt.Sprintf("%s has roles in the vaults %s: name one (cairn login --sso --vault-name NAME; in the Backup center, /signin/sso?vault=NAME)",
					id.Username, strings.Join(have, ", "))}
		}
	}
	role := roles[vault]
	if role == "" {
		groups := "none"
		if len(id.Groups) > 0 {
			groups = strings.Join(id.Groups, ", ")
		}
		refusal := &apiError{status: http.StatusForbidden, code: "forbidden",
			message: fmt.Sprintf("%s (groups: %s) has no role in %s: ask an administrator to map one of your groups to a role there (vault serve --oidc-config)",
				id.Username, groups, where)}
		s.auditSSORefusal(r, id, req.Vault, c)
		return refusal
	}
	expires := s.now().Add(c.TokenLifetimeDuration()).UTC().Truncate(time.Second)
	userPrefix := access.SSOPrefix + tokenNameUser(id.Username) + ":"
	s.pruneExpiredSSOTokens(r.Context(), vault, userPrefix)
	var name, secret string
	for range 3 { // a clash of 40 random bits is retried
		name = userPrefix + strings.ToLower(rand.Text()[:8])
		secret, err = s.st.CreateToken(r.Context(), vault, store.TokenSpec{Name: name, Role: role, Kind: store.TokenKindSSO,
			CreatedBy: "single sign-on (" + c.Issuer + ")", ExpiresAt: expires})
		if !errors.Is(err, store.ErrExists) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("vault %q: %w", vault, err)
	}
	s.appendAudit(r, vault, store.AuditEntry{Principal: name, Role: role, Operation: http.MethodPost + " " + r.URL.Path,
		Object: fmt.Sprintf("%s: token %s, role %s, expires %s (subject %s)", r.URL.Path, name, role, expires.Format(time.RFC3339), id.Subject),
		Status: http.StatusCreated})
	return writeJSON(w, http.StatusCreated, vaultv1.SSOToken{Vault: vault, Name: name, Role: role, Token: secret, ExpiresAt: expires})
}

// ssoRevoke signs a single sign-on token out: whoever holds a token may throw it away.
func (s *Server) ssoRevoke(w http.ResponseWriter, r *http.Request, _ access.Principal) error {
	var req vaultv1.SSORevokeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return invalid(errors.New("token: required (the single sign-on token to sign out)"))
	}
	p, err := s.st.LookupToken(r.Context(), req.Token)
	if expired, ok := errors.AsType[*store.TokenExpiredError](err); ok {
		p, err = expired.Principal, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent) // nothing to revoke: already gone
		return nil
	}
	if err != nil {
		return err
	}
	if p.IsAgent() || !strings.HasPrefix(p.Name, access.SSOPrefix) {
		return invalid(errors.New("token: not a single sign-on token: revoke a token a person made with DELETE /api/v1/tokens/{name} (cairn token revoke)"))
	}
	if err := s.st.RevokeToken(r.Context(), p.Vault, p.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.appendAudit(r, p.Vault, store.AuditEntry{Principal: p.Name, Role: p.Role, Operation: http.MethodPost + " " + r.URL.Path,
		Object: r.URL.Path + ": signed out, token revoked", Status: http.StatusNoContent})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenNameUser is username as it goes into a token's name: lower case, characters other than
// letters, digits, '.', '_', '-', '@' and '+' as '_', at most ssoUsernameMax of them.
func tokenNameUser(username string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(username) {
		if b.Len() >= ssoUsernameMax {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune(".-_@+", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// pruneExpiredSSOTokens deletes the expired single sign-on tokens whose names start with prefix
// (one person's): each sign-in mints a token, and expired ones stay listed until revoked.
func (s *Server) pruneExpiredSSOTokens(ctx context.Context, vault, prefix string) {
	tokens, err := s.st.ListTokens(ctx, vault)
	if err != nil {
		s.log.WarnContext(ctx, "single sign-on: expired tokens not pruned", "vault", vault, "error", err.Error())
		return
	}
	now := s.now()
	for _, t := range tokens {
		if t.Kind != store.TokenKindSSO || !strings.HasPrefix(t.Name, prefix) || t.ExpiresAt == nil || now.Before(*t.ExpiresAt) {
			continue
		}
		if err := s.st.RevokeToken(ctx, vault, t.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "single sign-on: expired token not pruned", "vault", vault, "token", t.Name, "error", err.Error())
		}
	}
}

// auditSSORefusal records a person refused for want of a role: in the vault asked for, else in
// every vault the configuration names; at most refusedPerMinute a minute per source.
func (s *Server) auditSSORefusal(r *http.Request, id *sso.Identity, asked string, c *sso.Config) {
	if !s.refused.allow(clientAddress(r), s.now()) {
		return
	}
	vaults := []string{asked}
	if asked == "" {
		vaults = slices.Sorted(maps.Keys(c.Vaults))
	} else if _, ok := c.Vaults[asked]; !ok {
		return // not a vault of this configuration: maybe of no store either
	}
	groups := strings.Join(id.Groups, ", ")
	for _, v := range vaults {
		s.appendAudit(r, v, store.AuditEntry{Principal: access.SSOPrefix + tokenNameUser(id.Username), Operation: http.MethodPost + " " + r.URL.Path,
			Object: fmt.Sprintf("%s: no role for groups [%s] (subject %s)", r.URL.Path, groups, id.Subject), Status: http.StatusForbidden})
	}
}

// appendAudit writes an audit entry a public route makes itself (the request's wrapper audits
// only calls with a token), with the request's source.
func (s *Server) appendAudit(r *http.Request, vault string, e store.AuditEntry) {
	e.Source = clientAddress(r)
	if err := s.st.AppendAudit(context.WithoutCancel(r.Context()), vault, e); err != nil {
		s.log.ErrorContext(r.Context(), "audit entry lost", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
	}
}
