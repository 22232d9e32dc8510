package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// The server administrator's calls (docs/design/vault.md, "Vaults and the server's administrator").

// ListVaults lists the server's vaults.
func (c *Client) ListVaults(ctx context.Context) ([]vaultv1.Vault, error) {
	var out vaultv1.List[vaultv1.Vault]
	return out.Items, c.do(ctx, http.MethodGet, "/api/v1/vaults", nil, &out)
}

// CreateVault makes a vault and its first token (nil: the server's default first token).
func (c *Client) CreateVault(ctx context.Context, name string, first *vaultv1.TokenRequest) (vaultv1.NewVault, error) {
	var out vaultv1.NewVault
	return out, c.do(ctx, http.MethodPost, "/api/v1/vaults", vaultv1.VaultRequest{Name: name, Token: first}, &out)
}

// DeleteVault deletes an empty vault.
func (c *Client) DeleteVault(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/vaults/"+url.PathEscape(name), nil, nil)
}

// CreateVaultToken makes a token in a vault.
func (c *Client) CreateVaultToken(ctx context.Context, vault string, req vaultv1.TokenRequest) (vaultv1.NewToken, error) {
	var out vaultv1.NewToken
	return out, c.do(ctx, http.MethodPost, "/api/v1/vaults/"+url.PathEscape(vault)+"/tokens", req, &out)
}

// ListServerAudit lists the administrator's calls, newest first.
func (c *Client) ListServerAudit(ctx context.Context, f AuditFilter) (vaultv1.List[vaultv1.AuditEntry], error) {
	var out vaultv1.List[vaultv1.AuditEntry]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/server-audit", pageQuery(f.Limit, f.Cursor)), nil, &out)
}
