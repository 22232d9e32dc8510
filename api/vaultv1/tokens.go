package vaultv1

import "time"

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresIn is how long the token works, as a duration ("30d", "12h"); empty: the vault's
	// default token lifetime. At most MaxTokenLifetime.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// NewToken is the answer to POST /api/v1/tokens: the token's secret, shown this once (the vault
// keeps its hash).
type NewToken struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Token is what the vault shows of a token: everything but its secret.
type Token struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Kind is "token" (made by a contributor, or the server's first start) or "sso" (minted for
	// a person signed in through single sign-on).
	Kind       string     `json:"kind"`
	CreatedBy  string     `json:"createdBy,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// Expired says the token no longer works (it is listed until revoked).
	Expired bool `json:"expired"`
}

// MaxTokenLifetime is the longest a token may be made to work.
const MaxTokenLifetime = 366 * 24 * time.Hour
