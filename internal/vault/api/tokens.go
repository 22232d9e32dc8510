package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// DefaultTokenLifetime is how long a token works when its maker does not say.
const DefaultTokenLifetime = 90 * 24 * time.Hour

// tokenLifetime returns how long the requested token works, or every problem of the request,
// each starting with its field.
func tokenLifetime(req vaultv1.TokenRequest, def time.Duration) (time.Duration, error) {
	var errs []error
	if err := access.ValidTokenName(req.Name); err != nil {
		errs = append(errs, err)
	}
	if err := access.ValidUserRole(req.Role); err != nil {
		errs = append(errs, err)
	}
	life := def
	if req.ExpiresIn != "" {
		d, err := policy.ParseDuration(req.ExpiresIn)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("expiresIn: %w", err))
		case time.Duration(d) < time.Minute || time.Duration(d) > vaultv1.MaxTokenLifetime:
			errs = append(errs, fmt.Errorf("expiresIn: %s: give between 1m and %s", req.ExpiresIn, policy.Duration(vaultv1.MaxTokenLifetime)))
		default:
			life = time.Duration(d)
		}
	}
	return life, errors.Join(errs...)
}

// errContributorTokenHeld refuses contributor tokens through the API when approval is required:
// one contributor could otherwise make a second and approve their own requests. Contributors then
// come from outside the API: the server's host or the OpenID provider's groups.
var errContributorTokenHeld = &apiError{status: http.StatusForbidden, code: "forbidden",
	message: "this vault requires approval (vault serve --require-approval), so contributor tokens are not made through the API " +
		"(one contributor could make a second and approve their own requests): run cairn vault issue-token NAME --role contributor " +
		"on the server's host, or map a group to contributor in --oidc-config; tokens of other roles can be made here"}

// createToken makes a token in the caller's vault. Only contributors may, and contributor is the
// highest role, so no caller can make a token that outranks its own.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	life, err := tokenLifetime(req, s.cfg.TokenLifetime)
	if err != nil {
		return invalid(err)
	}
	if s.cfg.RequireApproval && req.Role == access.RoleContributor {
		return errContributorTokenHeld
	}
	token, err := s.makeToken(r, p.Name, p.Vault, req, life)
	if err != nil {
		return err
	}
	noteAudit(r, fmt.Sprintf("token %s, role %s, expires %s", req.Name, req.Role, token.ExpiresAt.Format(time.RFC3339)))
	return writeJSON(w, http.StatusCreated, token)
}

// makeToken makes the token req in vault, working for life, recorded as made by createdBy.
func (s *Server) makeToken(r *http.Request, createdBy, vault string, req vaultv1.TokenRequest, life time.Duration) (vaultv1.NewToken, error) {
	expires := s.now().Add(life).UTC().Truncate(time.Second)
	secret, err := s.st.CreateToken(r.Context(), vault, store.TokenSpec{Name: req.Name, Role: req.Role, CreatedBy: createdBy, ExpiresAt: expires})
	if err != nil {
		return vaultv1.NewToken{}, fmt.Errorf("vault %q: %w", vault, err)
	}
	return vaultv1.NewToken{Name: req.Name, Role: req.Role, Token: secret, ExpiresAt: expires}, nil
}

// listTokens lists the caller's vault's tokens, without their secrets.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	tokens, err := s.st.ListTokens(r.Context(), p.Vault)
	if err != nil {
		return err
	}
	out := vaultv1.List[vaultv1.Token]{Items: make([]vaultv1.Token, 0, len(tokens))}
	now := s.now()
	for _, t := range tokens {
		out.Items = append(out.Items, vaultv1.Token{Name: t.Name, Role: t.Role, Kind: t.Kind, CreatedBy: t.CreatedBy,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
			Expired: t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// revokeToken deletes a token of the caller's vault: its next call is refused.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if err := s.st.RevokeToken(r.Context(), p.Vault, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
