// Package sso is the vault's single sign-on through OpenID Connect (docs/design/vault.md, "Single
// sign-on"): the file of `vault serve --oidc-config`, the mapping of a person's groups to a role in
// each vault, and the provider: its discovery, the authorization code flow with PKCE that the
// Backup center runs, and the verification of the ID tokens both flows end with. Minting the
// vault's own token for a signed-in person is the API's (POST /api/v1/sso/token).
package sso

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// Defaults of the configuration file.
const (
	DefaultGroupsClaim   = "groups"
	DefaultUsernameClaim = "email"
	DefaultTokenLifetime = 12 * time.Hour
)

// DefaultScopes are the scopes asked for when the file names none.
var DefaultScopes = []string{"openid", "profile", "email", "groups"}

// Bounds of tokenLifetime: a minted token is renewed by signing in again, and a long one keeps a
// person's role after the provider took their group away.
const (
	minTokenLifetime = 5 * time.Minute
	maxTokenLifetime = 30 * 24 * time.Hour
)

// Config is the file of `vault serve --oidc-config` (YAML). Load reads and checks it.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is read on first use.
	Issuer string `json:"issuer"`
	// ProviderName labels the sign-in button (default: the issuer's host).
	ProviderName string `json:"providerName,omitempty"`
	// ClientID is the Backup center's client (authorization code with PKCE).
	ClientID string `json:"clientID"`
	// ClientSecretFile holds that client's secret; none makes it a public client (PKCE alone).
	// A relative path is taken from the configuration file's folder.
	ClientSecretFile string `json:"clientSecretFile,omitempty"`
	// DeviceClientID is the CLI's public client for the device grant (default: ClientID).
	DeviceClientID string `json:"deviceClientID,omitempty"`
	// RedirectURL is the Backup center's callback as registered at the provider (default: the
	// request's scheme and Host, then /signin/sso/callback).
	RedirectURL string `json:"redirectURL,omitempty"`
	// Scopes are asked for in both flows (default DefaultScopes); openid is required.
	Scopes []string `json:"scopes,omitempty"`
	// GroupsClaim is the ID token's claim holding the person's groups: a list of strings or one
	// string (default DefaultGroupsClaim).
	GroupsClaim string `json:"groupsClaim,omitempty"`
	// UsernameClaim names the person in their token's name and the audit log (default
	// DefaultUsernameClaim, then preferred_username, then sub).
	UsernameClaim string `json:"usernameClaim,omitempty"`
	// TokenLifetime is how long a minted token works ("12h", "1d"; default DefaultTokenLifetime).
	TokenLifetime string `json:"tokenLifetime,omitempty"`
	// Vaults maps, per vault, the provider's groups to roles.
	Vaults map[string]VaultRoles `json:"vaults"`

	clientSecret string
	lifetime     time.Duration
}

// VaultRoles is one vault's mapping.
type VaultRoles struct {
	// Groups maps a group (as the groups claim has it, exactly) to reader, operator or
	// contributor.
	Groups map[string]string `json:"groups"`
}

// Load reads and checks the configuration file at path, and reads the client secret it names.
// Every problem is reported, each starting with its field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oidc-config: %w", err)
	}
	c, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("oidc-config %s: %w", path, err)
	}
	return c, nil
}

// Parse checks a configuration given as YAML (or JSON); relative files are taken from dir.
func Parse(data []byte, dir string) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("not a valid configuration: %w", err)
	}
	if err := c.complete(dir); err != nil {
		return nil, err
	}
	return &c, nil
}

// complete fills the defaults and checks every field.
func (c *Config) complete(dir string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	issuer, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		fail("issuer: required (the provider's issuer URL, e.g. https://login.example.com)")
	case err != nil || issuer.Host == "" || (issuer.Scheme != "https" && issuer.Scheme != "http"):
		fail("issuer: %q is not an http(s) URL with a host", c.Issuer)
	case issuer.Scheme == "http" && !loopback(issuer.Hostname()):
		fail("issuer: %q: use https (http only for a loopback address)", c.Issuer)
	case issuer.RawQuery != "" || issuer.Fragment != "":
		fail("issuer: %q: no query or fragment", c.Issuer)
	}
	if c.ProviderName == "" && err == nil {
		c.ProviderName = issuer.Host
	}
	if c.ClientID == "" {
		fail("clientID: required (the Backup center's client at the provider)")
	}
	if c.DeviceClientID == "" {
		c.DeviceClientID = c.ClientID
	}
	if c.ClientSecretFile != "" {
		path := c.ClientSecretFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		secret, err := os.ReadFile(path)
		switch {
		case err != nil:
			fail("clientSecretFile: %w", err)
		case strings.TrimSpace(string(secret)) == "":
			fail("clientSecretFile: %s is empty", path)
		default:
			c.clientSecret = strings.TrimSpace(string(secret))
		}
	}
	if c.RedirectURL != "" {
		u, err := url.Parse(c.RedirectURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			fail("redirectURL: %q is not an http(s) URL with a host", c.RedirectURL)
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(DefaultScopes)
	}
	if !slices.Contains(c.Scopes, "openid") {
		fail("scopes: %v lacks openid", c.Scopes)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = DefaultUsernameClaim
	}
	c.lifetime = DefaultTokenLifetime
	if c.TokenLifetime != "" {
		d, err := policy.ParseDuration(c.TokenLifetime)
		switch {
		case err != nil:
			fail("tokenLifetime: %w", err)
		case time.Duration(d) < minTokenLifetime || time.Duration(d) > maxTokenLifetime:
			fail("tokenLifetime: %s: give between %s and %s", c.TokenLifetime, policy.Duration(minTokenLifetime), policy.Duration(maxTokenLifetime))
		default:
			c.lifetime = time.Duration(d)
		}
	}
	if len(c.Vaults) == 0 {
		fail("vaults: required: map at least one group to a role in a vault (vaults: {default: {groups: {cairn-admins: contributor}}})")
	}
	for _, vault := range slices.Sorted(maps.Keys(c.Vaults)) {
		groups := c.Vaults[vault].Groups
		if vault == "" {
			fail("vaults: a vault without a name")
		}
		if len(groups) == 0 {
			fail("vaults.%s.groups: required: map at least one group to a role", vault)
		}
		for _, group := range slices.Sorted(maps.Keys(groups)) {
			if group == "" {
				fail("vaults.%s.groups: an empty group name", vault)
			}
			if err := access.ValidUserRole(groups[group]); err != nil {
				fail("vaults.%s.groups.%s: %w", vault, group, err)
			}
		}
	}
	return errors.Join(errs...)
}

// loopback tells whether host is a loopback name or address (http is allowed there, for tests
// and a provider on the vault's own host).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// TokenLifetimeDuration is how long a minted token works.
func (c *Config) TokenLifetimeDuration() time.Duration { return c.lifetime }

// ClientSecret is the Backup center client's secret ("" for a public client).
func (c *Config) ClientSecret() string { return c.clientSecret }

// Role is the role groups give in vault: the highest role any of them maps to there, or "" when
// none is mapped.
func (c *Config) Role(vault string, groups []string) string {
	mapping := c.Vaults[vault].Groups
	best := ""
	for _, g := range groups {
		role, ok := mapping[g]
		if !ok {
			continue
		}
		if best == "" || access.Allows(role, best) {
			best = role
		}
	}
	return best
}

// Roles is every vault where groups give a role, with that role.
func (c *Config) Roles(groups []string) map[string]string {
	out := map[string]string{}
	for vault := range c.Vaults {
		if role := c.Role(vault, groups); role != "" {
			out[vault] = role
		}
	}
	return out
}
