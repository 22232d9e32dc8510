package client

import (
	"context"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// SSOSettings asks the vault for its single sign-on (a 404 *APIError when it has none). It needs
// no token.
func (c *Client) SSOSettings(ctx context.Context) (vaultv1.SSOSettings, error) {
	var s vaultv1.SSOSettings
	return s, c.do(ctx, http.MethodGet, "/api/v1/sso", nil, &s)
}

// SSOToken exchanges an ID token of the vault's OpenID provider for a vault token in vault (""
// for the only one where the person has a role). It needs no token.
func (c *Client) SSOToken(ctx context.Context, idToken, vault string) (vaultv1.SSOToken, error) {
	var t vaultv1.SSOToken
	return t, c.do(ctx, http.MethodPost, "/api/v1/sso/token", vaultv1.SSOTokenRequest{IDToken: idToken, Vault: vault}, &t)
}

// RevokeSSOToken signs a single sign-on token out.
func (c *Client) RevokeSSOToken(ctx context.Context, token string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/sso/revoke", vaultv1.SSORevokeRequest{Token: token}, nil)
}
