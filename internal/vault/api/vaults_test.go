package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// vaultMatrixCalls are the server administrator's routes in the authorisation matrix.
var vaultMatrixCalls = map[string]matrixCall{
	"GET /api/v1/vaults": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/vaults", token, ""), nil
	},
	"POST /api/v1/vaults": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "v-" + strings.ToLower(unique)
		return newRequest(t, "POST", "/api/v1/vaults", token, `{"name":"`+name+`"}`), func(t *testing.T, allowed bool) {
			if made := vaultNames(t, f)[name]; made != allowed {
				t.Errorf("allowed %v, vault made %v", allowed, made)
			}
		}
	},
	"DELETE /api/v1/vaults/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "d-" + strings.ToLower(unique)
		if err := f.st.CreateVault(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "DELETE", "/api/v1/vaults/"+name, token, ""), func(t *testing.T, allowed bool) {
			if kept := vaultNames(t, f)[name]; kept == allowed {
				t.Errorf("allowed %v, vault kept %v", allowed, kept)
			}
		}
	},
	"POST /api/v1/vaults/{name}/tokens": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "t-" + strings.ToLower(unique)
		body := `{"name":"` + name + `","role":"reader"}`
		return newRequest(t, "POST", "/api/v1/vaults/prod/tokens", token, body), func(t *testing.T, allowed bool) {
			if made := tokenNames(t, f)[name]; made != allowed {
				t.Errorf("allowed %v, token made %v", allowed, made)
			}
		}
	},
	"GET /api/v1/server-audit": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/server-audit", token, ""), nil
	},
}

func vaultNames(t *testing.T, f *fixture) map[string]bool {
	t.Helper()
	vaults, err := f.st.Vaults(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range vaults {
		out[v] = true
	}
	return out
}

// TestTheAdministratorMakesAVaultItsTokenUses: the administrator makes a vault; its first token
// works in it alone; the administrator reads none of it; the vault is deleted once empty; the
// administrator's calls are in the server's audit, and the token made in a vault in its audit too.
func TestTheAdministratorMakesAVaultItsTokenUses(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/api/v1/vaults", f.adminToken, `{"name":"dev","token":{"name":"lead","role":"contributor","expiresIn":"7d"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var made vaultv1.NewVault
	if err := json.Unmarshal(rec.Body.Bytes(), &made); err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, made.Token.Token)
	if made.Vault.Name != "dev" || made.Token.Name != "lead" || made.Token.Role != access.RoleContributor {
		t.Fatalf("made: %+v", made)
	}
	if rec := f.do(t, "POST", "/api/v1/vaults", f.adminToken, `{"name":"dev"}`); rec.Code != http.StatusConflict {
		t.Errorf("a taken name: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/api/v1/vaults", f.adminToken, `{"name":"Dev_1","token":{"name":"x","role":"boss"}}`); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "vault name") || !strings.Contains(rec.Body.String(), "role") {
		t.Errorf("an invalid request: %d %s", rec.Code, rec.Body)
	}

	// The new token works in its vault, and sees nothing of prod.
	if rec := f.do(t, "POST", "/api/v1/policies", made.Token.Token, `{"name":"nightly","schedule":{"dailyAt":"03:00"},"retention":{"default":"7d"}}`); rec.Code != http.StatusCreated {
		t.Fatalf("policy in dev: %d %s", rec.Code, rec.Body)
	}
	var who whoAmIResponse
	if rec := f.do(t, "GET", "/api/v1/whoami", made.Token.Token, ""); json.Unmarshal(rec.Body.Bytes(), &who) != nil || who.Vault != "dev" {
		t.Fatalf("whoami: %s", rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/whoami", f.adminToken, ""); json.Unmarshal(rec.Body.Bytes(), &who) != nil || who != (whoAmIResponse{Name: "root", Role: access.RoleAdmin}) {
		t.Fatalf("the administrator's whoami: %s", rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/policies", f.adminToken, ""); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "reads none") {
		t.Errorf("the administrator reading a vault: %d %s", rec.Code, rec.Body)
	}

	var list vaultv1.List[vaultv1.Vault]
	if rec := f.do(t, "GET", "/api/v1/vaults", f.adminToken, ""); json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Items) != 2 {
		t.Fatalf("vaults: %s", rec.Body)
	}
	if prod := list.Items[1]; prod.Name != "prod" || prod.Clusters != 1 || prod.Tokens < 3 {
		t.Errorf("prod as listed: %+v", prod)
	}

	// A token made in prod is in prod's audit and the server's.
	if rec := f.do(t, "POST", "/api/v1/vaults/prod/tokens", f.adminToken, `{"name":"rescue","role":"contributor"}`); rec.Code != http.StatusCreated {
		t.Fatalf("token in prod: %d %s", rec.Code, rec.Body)
	} else {
		var tok vaultv1.NewToken
		_ = json.Unmarshal(rec.Body.Bytes(), &tok)
		f.secrets = append(f.secrets, tok.Token)
	}
	if rec := f.do(t, "POST", "/api/v1/vaults/nope/tokens", f.adminToken, `{"name":"x","role":"reader"}`); rec.Code != http.StatusNotFound {
		t.Errorf("token in a missing vault: %d %s", rec.Code, rec.Body)
	}
	audit := func(token, path string) []vaultv1.AuditEntry {
		t.Helper()
		var l vaultv1.List[vaultv1.AuditEntry]
		if rec := f.do(t, "GET", path, token, ""); json.Unmarshal(rec.Body.Bytes(), &l) != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return l.Items
	}
	hasOp := func(entries []vaultv1.AuditEntry, op, object string) bool {
		return slices.ContainsFunc(entries, func(e vaultv1.AuditEntry) bool {
			return e.Operation == op && strings.Contains(e.Object, object) && e.Principal == "root"
		})
	}
	server := audit(f.adminToken, "/api/v1/server-audit")
	if !hasOp(server, "POST /api/v1/vaults", "vault dev, first token lead") || !hasOp(server, "POST /api/v1/vaults/{name}/tokens", "token rescue") {
		t.Errorf("the server's audit: %+v", server)
	}
	if prod := audit(f.tokens[access.RoleReader], "/api/v1/audit"); !hasOp(prod, "POST /api/v1/vaults/{name}/tokens", "token rescue") {
		t.Errorf("prod's audit: %+v", prod)
	}

	// A vault with a cluster is refused; dev, with a policy only, goes.
	if rec := f.do(t, "DELETE", "/api/v1/vaults/prod", f.adminToken, ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "registered cluster") {
		t.Errorf("deleting prod: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "DELETE", "/api/v1/vaults/dev", f.adminToken, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("deleting dev: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/policies", made.Token.Token, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("the deleted vault's token: %d %s", rec.Code, rec.Body)
	}
}
