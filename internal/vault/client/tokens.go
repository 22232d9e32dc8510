package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// CreateToken makes a token for name with role, working for expiresIn ("": the vault's default).
func (c *Client) CreateToken(ctx context.Context, name, role, expiresIn string) (vaultv1.NewToken, error) {
	var t vaultv1.NewToken
	return t, c.do(ctx, http.MethodPost, "/api/v1/tokens", vaultv1.TokenRequest{Name: name, Role: role, ExpiresIn: expiresIn}, &t)
}

// ListTokens lists the vault's tokens (contributors only).
func (c *Client) ListTokens(ctx context.Context) ([]vaultv1.Token, error) {
	var out vaultv1.List[vaultv1.Token]
	return out.Items, c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, &out)
}

// RevokeToken revokes a token by name.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), nil, nil)
}
