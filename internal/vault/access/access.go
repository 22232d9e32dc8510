// Package access is who may do what in the vault (docs/design/vault.md, "API"): the roles a token
// carries, the principal it speaks for, and how the roles rank. The API authorises every route
// with it; the store only records a token's role; the Backup center shows or hides actions by it.
package access

import (
	"errors"
	"fmt"
	"strings"
)

// Roles of user tokens, from least to most allowed, and the role of a cluster's agent token.
const (
	RoleReader      = "reader"      // sees everything
	RoleOperator    = "operator"    // also runs backups and restores, cancels jobs
	RoleContributor = "contributor" // also changes policies, clusters, instances and tokens
	// RoleAgent is the role of an agent token: only the agent routes accept it, and only for its
	// own cluster's jobs.
	RoleAgent = "agent"
	// RoleAdmin is the role of the server's administrator's tokens: only the routes that make,
	// list and delete vaults accept it (docs/design/vault.md, "Vaults and the server's
	// administrator"); it reads no vault.
	RoleAdmin = "admin"
	// RoleAny is the least role of routes every user token and the administrator's may call
	// (whoami); no token has it.
	RoleAny = "any"
)

// UserRoles are the roles a user token may have, from least to most allowed.
var UserRoles = []string{RoleReader, RoleOperator, RoleContributor}

// Principal is who a token speaks for: a user's token, or a cluster's agent token (RoleAgent,
// with the cluster as Name).
type Principal struct {
	Vault string
	Name  string
	Role  string
}

// IsAgent tells whether the principal is a cluster's agent.
func (p Principal) IsAgent() bool { return p.Role == RoleAgent }

// SSOPrefix begins the names of the tokens the vault mints for single sign-on: SSOPrefix, the
// person's user name and, after a last ':', a suffix of its own for each sign-in.
const SSOPrefix = "oidc:"

// Person is who a principal's name stands for: a token's name, or, for a single sign-on token,
// SSOPrefix and the user name, whichever sign-in the person calls from. An approval compares
// persons, so that a second session cannot approve its first one's request.
func Person(name string) string {
	if user, ok := strings.CutPrefix(name, SSOPrefix); ok {
		if i := strings.LastIndexByte(user, ':'); i > 0 {
			return SSOPrefix + user[:i]
		}
	}
	return name
}

// Allows tells whether a user role may do what needs role need (reader < operator < contributor).
// The agent and admin roles allow nothing a user role needs, and each needs its own token.
func Allows(role, need string) bool {
	if need == RoleAny {
		return role == RoleAdmin || rank(role) > 0
	}
	if (role == RoleAgent) != (need == RoleAgent) || (role == RoleAdmin) != (need == RoleAdmin) {
		return false
	}
	return rank(role) >= rank(need)
}

// IsAdmin tells whether the principal is the server's administrator.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// maxVaultName bounds a vault's name: a DNS label.
const maxVaultName = 63

// ValidVaultName checks a new vault's name: a DNS label (1 to 63 lower-case letters, digits and
// '-', starting and ending with a letter or digit), so that it reads the same in URLs, metrics'
// labels and file names.
func ValidVaultName(name string) error {
	if name == "" || len(name) > maxVaultName {
		return fmt.Errorf("vault name %q: 1 to %d characters", name, maxVaultName)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(name)-1:
		default:
			return fmt.Errorf("vault name %q: use lower-case letters, digits and '-', starting and ending with a letter or digit", name)
		}
	}
	return nil
}

// rank orders the user roles; the agent role and unknown roles rank below them all.
func rank(role string) int {
	for i, r := range UserRoles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// ValidUserRole checks that a new token's role is a user role.
func ValidUserRole(role string) error {
	if rank(role) == 0 {
		return fmt.Errorf("role %q: use reader, operator or contributor", role)
	}
	return nil
}

// maxTokenName bounds a token's name (it is shown in lists, audit entries and logs).
const maxTokenName = 64

// ValidTokenName checks the name of a token a person makes: 1 to 64 characters of lower-case
// ASCII letters, digits, '.', '_', '-' and '@', starting with a letter or digit. ASCII lower case
// keeps names from looking like one another (no "Admin" beside "admin", no Cyrillic "а"), and no
// ':' keeps them from looking like the principals the vault names itself ("oidc:...").
func ValidTokenName(name string) error {
	if name == "" {
		return errors.New("name: required (who or what uses the token)")
	}
	if len(name) > maxTokenName {
		return fmt.Errorf("name: %d characters, at most %d", len(name), maxTokenName)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-' || r == '@'):
		default:
			return fmt.Errorf("name %q: use lower-case letters, digits, '.', '_', '-' and '@', starting with a letter or digit", name)
		}
	}
	return nil
}
