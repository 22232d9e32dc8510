package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/oidctest"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// vaultRow finds an all-vaults overview's line of vault name.
func vaultRow(t *testing.T, page, name string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-vault="` + regexp.QuoteMeta(name) + `"[^>]*>.*?</tr>`).FindString(page)
	if row == "" {
		t.Fatalf("no line for vault %s on the all-vaults overview:\n%s", name, page)
	}
	return row
}

// devVault makes vault dev beside the fixture's prod, and returns its reader's token (dev-reader).
func devVault(t *testing.T, f *fixture) string {
	t.Helper()
	must(t, f.st.CreateVault(t.Context(), "dev"))
	token, err := f.st.CreateToken(t.Context(), "dev", store.TokenSpec{Name: "dev-reader", Role: "reader"})
	must(t, err)
	return token
}

func TestSessionHoldsSeveralVaultsAndSwitches(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	devToken := devVault(t, f)
	_, _, err := f.st.RegisterCluster(ctx, "dev", "laptop")
	must(t, err)
	adminToken, err := f.st.CreateAdminToken(ctx, store.TokenSpec{Name: "root", ExpiresAt: now.Add(time.Hour)})
	must(t, err)

	b := f.signedIn(t, "operator")
	if _, page := b.get("/"); strings.Contains(page, `id="vault-switch"`) || !strings.Contains(page, `href="/vaults"`) {
		t.Fatalf("a session of one vault shows a switcher, or no link to the vaults:\n%s", page)
	}
	csrf := b.csrf()
	for _, bad := range []struct {
		token, want string
		status      int
	}{
		{"", "enter an API token", http.StatusUnprocessableEntity},
		{"not-a-token", "that vault does not accept the token", http.StatusUnauthorized},
		{adminToken, "server administrator&#39;s token", http.StatusForbidden},
	} {
		if res, page := b.post("/vaults/add", url.Values{"csrf": {csrf}, "token": {bad.token}}); res.StatusCode != bad.status || !strings.Contains(page, bad.want) {
			t.Errorf("add a vault with %q: %d, want %d and %q:\n%s", bad.token, res.StatusCode, bad.status, bad.want, page)
		}
	}
	if res, _ := b.post("/vaults/add", url.Values{"token": {devToken}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a vault added without the session's CSRF token: %d", res.StatusCode)
	}

	res, _ := b.post("/vaults/add", url.Values{"csrf": {csrf}, "token": {devToken}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("add vault dev: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := b.get("/")
	if !strings.Contains(page, `<span id="whoami" title="vault dev">dev-reader · reader</span>`) ||
		!strings.Contains(page, `<option value="dev" selected>dev · reader</option>`) || !strings.Contains(page, `<option value="prod">prod · operator</option>`) {
		t.Fatalf("after adding dev, the overview does not show dev with a switcher:\n%s", page)
	}
	if _, page := b.get("/instances"); strings.Contains(page, `href="/instances/shop"`) {
		t.Errorf("vault dev shows prod's instance:\n%s", page)
	}

	_, page = b.get("/vaults")
	prod, dev := vaultRow(t, page, "prod"), vaultRow(t, page, "dev")
	if !strings.Contains(prod, `data-failed="1"`) || !strings.Contains(prod, "<td>1 / 1</td>") || !strings.Contains(prod, `class="flag"`) ||
		!strings.Contains(prod, `data-action="open-vault"`) {
		t.Errorf("prod's line (one failed backup, its cluster protected):\n%s", prod)
	}
	if !strings.Contains(dev, "(shown)") || !strings.Contains(dev, "<td>0 / 1</td>") || !strings.Contains(dev, `data-failed="0"`) {
		t.Errorf("dev's line (shown, its cluster unprotected, no job):\n%s", dev)
	}
	if total := regexp.MustCompile(`(?s)<tr id="vaults-total">.*?</tr>`).FindString(page); !strings.Contains(total, "<td>1 / 2</td>") ||
		!strings.Contains(total, `data-failed="1"`) {
		t.Errorf("the total line:\n%s", total)
	}

	if res, page := b.post("/vaults/switch", url.Values{"csrf": {csrf}, "vault": {"staging"}}); res.StatusCode != http.StatusNotFound ||
		!strings.Contains(page, "has not signed in to vault staging") {
		t.Errorf("switch to a vault the session does not hold: %d\n%s", res.StatusCode, page)
	}
	if res, _ := b.post("/vaults/switch", url.Values{"csrf": {csrf}, "vault": {"prod"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch to prod: %d", res.StatusCode)
	}
	if _, page := b.get("/instances"); !strings.Contains(page, `href="/instances/shop"`) || !strings.Contains(page, `title="vault prod"`) {
		t.Errorf("after switching back, prod is not shown:\n%s", page)
	}

	// dev's token revoked: the session forgets dev, and goes on with prod.
	must(t, f.st.RevokeToken(ctx, "dev", "dev-reader"))
	_, page = b.get("/vaults")
	if strings.Contains(page, `data-vault="dev"`) || !strings.Contains(page, `data-dropped="dev"`) {
		t.Errorf("the revoked vault is still held, or not said to be dropped:\n%s", page)
	}
	if _, page := b.get("/"); strings.Contains(page, `id="vault-switch"`) || !strings.Contains(page, `title="vault prod"`) {
		t.Errorf("after dev was dropped:\n%s", page)
	}
}

func TestSessionGoesOnWithItsOtherVaultWhenTheShownOneSignsItOut(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	devToken := devVault(t, f)
	b := f.signedIn(t, "operator")
	if res, _ := b.post("/vaults/add", url.Values{"csrf": {b.csrf()}, "token": {devToken}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add dev: %d", res.StatusCode)
	}
	must(t, f.st.RevokeToken(ctx, "dev", "dev-reader"))
	res, _ := b.get("/jobs")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/vaults?signedOut=dev" {
		t.Fatalf("a page of the vault that revoked the session's token: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := b.get("/vaults?signedOut=dev")
	if !strings.Contains(page, `data-dropped="dev"`) || !strings.Contains(page, `data-vault="prod"`) || !strings.Contains(page, "(shown)") {
		t.Errorf("the vaults page after dev signed the session out:\n%s", page)
	}
	if _, page := b.get("/vaults?signedOut=prod"); strings.Contains(page, `data-dropped="prod"`) {
		t.Errorf("a link says a vault the session holds was dropped:\n%s", page)
	}
}

func TestSSOSignInHoldsEveryVaultOfThePerson(t *testing.T) {
	f := newSSOFixture(t)
	// Alice is a contributor in prod and a reader in staging (group staff).
	b, _, _ := f.signIn(t, oidctest.Alice, "")
	_, page := b.get("/")
	if !strings.Contains(page, `title="vault prod"`) || !strings.Contains(page, `<option value="staging">staging · reader</option>`) {
		t.Fatalf("alice's overview shows prod with staging in the switcher:\n%s", page)
	}
	staging, err := f.st.ListTokens(t.Context(), "staging")
	must(t, err)
	if len(staging) != 1 || staging[0].Kind != store.TokenKindSSO || staging[0].Role != "reader" || !strings.HasPrefix(staging[0].Name, "oidc:alice@example.com:") {
		t.Fatalf("staging's tokens after alice's sign-in: %+v", staging)
	}
	_, page = b.get("/vaults")
	vaultRow(t, page, "prod")
	vaultRow(t, page, "staging")

	// Bob has a role in prod alone: no switcher.
	bob, _, _ := f.signIn(t, oidctest.Bob, "")
	if _, page := bob.get("/"); strings.Contains(page, `id="vault-switch"`) {
		t.Errorf("bob, with one vault, has a switcher:\n%s", page)
	}

	res, _ := b.post("/signout", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	staging, err = f.st.ListTokens(t.Context(), "staging")
	must(t, err)
	if len(staging) != 0 {
		t.Errorf("alice's staging token outlived her sign-out: %+v", staging)
	}
}
