package vaultv1

import "time"

// Vault is a vault as the server's administrator sees it (GET /api/v1/vaults): its name and how
// much it holds.
type Vault struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// Clusters counts its registered clusters not revoked; RecoveryPoints its live points.
	Clusters       int `json:"clusters"`
	Instances      int `json:"instances"`
	RecoveryPoints int `json:"recoveryPoints"`
	Tokens         int `json:"tokens"`
}

// VaultRequest is the body of POST /api/v1/vaults: the new vault's name and its first token
// (default: "admin", contributor, the server's token lifetime).
type VaultRequest struct {
	Name  string        `json:"name"`
	Token *TokenRequest `json:"token,omitempty"`
}

// NewVault is the answer to POST /api/v1/vaults: the vault and its first token's secret, shown
// this once.
type NewVault struct {
	Vault Vault    `json:"vault"`
	Token NewToken `json:"token"`
}
