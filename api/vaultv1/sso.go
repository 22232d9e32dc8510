package vaultv1

import "time"

// SSOSettings is the answer to GET /api/v1/sso: what a client needs to sign a person in with the
// vault's OpenID provider through the device authorization grant (docs/design/vault.md, "Single
// sign-on").
type SSOSettings struct {
	// Issuer is the provider's issuer URL (its discovery document names the endpoints).
	Issuer string `json:"issuer"`
	// ClientID is the public client of the device grant.
	ClientID string `json:"clientID"`
	// ProviderName is how the vault names the provider to people.
	ProviderName string `json:"providerName"`
	// Scopes are the scopes to ask for.
	Scopes []string `json:"scopes"`
}

// SSOTokenRequest is the body of POST /api/v1/sso/token: an ID token the provider issued for one
// of the vault's clients, to be exchanged for a vault token.
type SSOTokenRequest struct {
	IDToken string `json:"idToken"`
	// Vault names the vault to sign in to; empty: the only one where the person has a role.
	Vault string `json:"vault,omitempty"`
}

// SSOToken is the answer to POST /api/v1/sso/token: a vault token (kind "sso") for the person the
// ID token names, shown this once.
type SSOToken struct {
	Vault     string    `json:"vault"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// SSORevokeRequest is the body of POST /api/v1/sso/revoke: the single sign-on token to sign out.
type SSORevokeRequest struct {
	Token string `json:"token"`
}
