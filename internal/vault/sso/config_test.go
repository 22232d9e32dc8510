package sso

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const validConfig = `
issuer: https://login.example.com
clientID: cairn
vaults:
  default:
    groups:
      cairn-admins: contributor
      cairn-ops: operator
      cairn-viewers: reader
`

func TestParseFillsDefaults(t *testing.T) {
	c, err := Parse([]byte(validConfig), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.ProviderName != "login.example.com" || c.DeviceClientID != "cairn" || c.GroupsClaim != "groups" || c.UsernameClaim != "email" ||
		!slices.Equal(c.Scopes, DefaultScopes) || c.TokenLifetimeDuration() != 12*time.Hour || c.ClientSecret() != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadReadsTheSecretBesideTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "oidc.yaml")
	config := validConfig + `
providerName: Example SSO
clientSecretFile: secret
deviceClientID: cairn-cli
redirectURL: https://vault.example:8443/signin/sso/callback
scopes: [openid, email]
groupsClaim: roles
usernameClaim: preferred_username
tokenLifetime: 1d
`
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientSecret() != "s3cret" || c.ProviderName != "Example SSO" || c.DeviceClientID != "cairn-cli" || c.GroupsClaim != "roles" ||
		c.UsernameClaim != "preferred_username" || c.TokenLifetimeDuration() != 24*time.Hour || !slices.Equal(c.Scopes, []string{"openid", "email"}) {
		t.Errorf("loaded %+v", c)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "oidc-config") {
		t.Errorf("missing file: %v", err)
	}
}

// TestParseNamesEveryBadField: each problem is reported with its field, all at once.
func TestParseNamesEveryBadField(t *testing.T) {
	for name, tc := range map[string]struct {
		config string
		want   []string
	}{
		"empty":       {"{}", []string{"issuer: required", "clientID: required", "vaults: required"}},
		"unknown key": {validConfig + "clientSecret: inline\n", []string{`unknown field "clientSecret"`}},
		"not YAML":    {"issuer: [", []string{"not a valid configuration"}},
		"bad values": {`
issuer: http://login.example.com
clientID: cairn
clientSecretFile: /nonexistent/secret
redirectURL: /signin/sso/callback
scopes: [email]
tokenLifetime: 2m
vaults:
  default:
    groups:
      cairn-admins: admin
      "": reader
  empty: {}
`, []string{
			`issuer: "http://login.example.com": use https (http only for a loopback address)`,
			"clientSecretFile: open /nonexistent/secret",
			`redirectURL: "/signin/sso/callback" is not an http(s) URL`,
			"scopes: [email] lacks openid",
			"tokenLifetime: 2m: give between 5m and 30d",
			`vaults.default.groups.cairn-admins: role "admin": use reader, operator or contributor`,
			"vaults.default.groups: an empty group name",
			"vaults.empty.groups: required",
		}},
		"issuer not a URL":              {"issuer: login.example.com\nclientID: c\nvaults: {v: {groups: {g: reader}}}", []string{`issuer: "login.example.com" is not an http(s) URL with a host`}},
		"issuer with query":             {"issuer: https://login.example.com/?x=1\nclientID: c\nvaults: {v: {groups: {g: reader}}}", []string{"issuer: ", "no query"}},
		"token lifetime not a duration": {validConfig + "tokenLifetime: soon\n", []string{`tokenLifetime: duration "soon"`}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.config), t.TempDir())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoopbackIssuersMayUseHTTP(t *testing.T) {
	for _, issuer := range []string{"http://127.0.0.1:5556", "http://localhost:5556/dex", "http://[::1]:5556"} {
		if _, err := Parse([]byte(strings.Replace(validConfig, "https://login.example.com", issuer, 1)), t.TempDir()); err != nil {
			t.Errorf("%s: %v", issuer, err)
		}
	}
}

// TestRoleIsTheHighestMappedGroup is the role mapping: the highest role of the mapped groups in
// that vault, exact group names, nothing for no mapped group or another vault.
func TestRoleIsTheHighestMappedGroup(t *testing.T) {
	c, err := Parse([]byte(validConfig+`
  staging:
    groups:
      cairn-viewers: operator
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vault  string
		groups []string
		want   string
	}{
		{"default", []string{"cairn-viewers"}, "reader"},
		{"default", []string{"cairn-viewers", "cairn-ops"}, "operator"},
		{"default", []string{"cairn-ops", "cairn-admins", "cairn-viewers"}, "contributor"},
		{"default", []string{"cairn-admins", "cairn-viewers"}, "contributor"},
		{"default", []string{"others", "cairn-ops"}, "operator"},
		{"default", []string{"Cairn-Admins", "cairn-admins "}, ""},
		{"default", nil, ""},
		{"staging", []string{"cairn-viewers", "cairn-admins"}, "operator"},
		{"nowhere", []string{"cairn-admins"}, ""},
	} {
		if got := c.Role(tc.vault, tc.groups); got != tc.want {
			t.Errorf("Role(%s, %v) = %q, want %q", tc.vault, tc.groups, got, tc.want)
		}
	}
	roles := c.Roles([]string{"cairn-viewers"})
	if len(roles) != 2 || roles["default"] != "reader" || roles["staging"] != "operator" {
		t.Errorf("Roles: %v", roles)
	}
	if roles := c.Roles([]string{"others"}); len(roles) != 0 {
		t.Errorf("Roles of unmapped groups: %v", roles)
	}
}
