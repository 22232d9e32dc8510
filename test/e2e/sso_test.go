//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/oidctest"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestBackupCenterSSO signs people in to the Backup center in headless Chromium through a real
// OpenID provider (internal/oidctest): test/browser/sso.mjs clicks "Sign in with Test SSO", fills
// the provider's login form and comes back to the vault (the authorization code flow with PKCE,
// the SameSite=Strict session cookie set on a cross-site redirect included): alice, a contributor,
// lands on the overview, sees her token and signs out; bob, a reader, comes back to the deep link
// he opened; carol, in no mapped group, is refused. Then the vault's side is checked: alice's
// token revoked, bob's a reader's, the sign-ins and the refusal in the audit log. It needs no
// cluster, only the browser test's dependencies and the provider (make test-servers).
func TestBackupCenterSSO(t *testing.T) {
	node, modules := browserTestDeps(t)
	ctx := t.Context()
	idp := oidctest.Start(t, oidctest.Options{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(oidctest.WebClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "oidc.yaml")
	if err := os.WriteFile(config, []byte(`
issuer: `+idp.Issuer+`
providerName: Test SSO
clientID: `+oidctest.WebClientID+`
clientSecretFile: secret
deviceClientID: `+oidctest.CLIClientID+`
vaults:
  default:
    groups:
      cairn-admins: contributor
      cairn-viewers: reader
`), 0o600); err != nil {
		t.Fatal(err)
	}
	v := startVault(t, "", func(o *vault.Options) { o.OIDCConfig = config })

	shots := screenshotDir(t, "backup-center-sso")
	runBrowserScript(t, node, modules, "sso.mjs", []string{
		"CAIRN_UI_URL=" + v.url,
		"CAIRN_IDP_URL=" + idp.Issuer,
		"CAIRN_IDP_NAME=Test SSO",
		"CAIRN_ADMIN_USER=" + oidctest.Alice.Username, "CAIRN_ADMIN_PASSWORD=" + oidctest.Alice.Password, "CAIRN_ADMIN_EMAIL=" + oidctest.Alice.Email,
		"CAIRN_VIEWER_USER=" + oidctest.Bob.Username, "CAIRN_VIEWER_PASSWORD=" + oidctest.Bob.Password, "CAIRN_VIEWER_EMAIL=" + oidctest.Bob.Email,
		"CAIRN_STRANGER_USER=" + oidctest.Carol.Username, "CAIRN_STRANGER_PASSWORD=" + oidctest.Carol.Password,
		"CAIRN_SCREENSHOTS=" + shots,
	})

	tokens, err := v.admin.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sso []string
	for _, tok := range tokens {
		if tok.Kind == "sso" {
			sso = append(sso, tok.Name+" "+tok.Role)
			if tok.ExpiresAt == nil || time.Until(*tok.ExpiresAt) < 11*time.Hour {
				t.Errorf("token %s expires at %v, want in about 12 h", tok.Name, tok.ExpiresAt)
			}
		}
	}
	if len(sso) != 1 || !strings.HasPrefix(sso[0], "oidc:bob@example.com:") || !strings.HasSuffix(sso[0], " reader") {
		t.Errorf("single sign-on tokens after the browser: %v, want bob's reader token alone (alice signed out)", sso)
	}
	audit, err := v.admin.ListAudit(ctx, client.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit.Items {
		switch {
		case e.Operation == "POST /api/v1/sso/token" && e.Status == 201:
			seen["signed in "+strings.SplitN(e.Principal, ":", 3)[1]] = true
		case e.Operation == "POST /api/v1/sso/token" && e.Status == 403:
			seen["refused "+e.Principal] = true
		case e.Operation == "POST /api/v1/sso/revoke" && e.Status == 204:
			seen["signed out "+strings.SplitN(e.Principal, ":", 3)[1]] = true
		}
	}
	for _, want := range []string{"signed in alice@example.com", "signed in bob@example.com", "refused oidc:carol@example.com", "signed out alice@example.com"} {
		if !seen[want] {
			t.Errorf("the audit log lacks %q: %v", want, seen)
		}
	}
}
