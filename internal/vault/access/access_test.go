package access

import "testing"

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		role, need string
		want       bool
	}{
		{RoleReader, RoleReader, true},
		{RoleReader, RoleOperator, false},
		{RoleOperator, RoleReader, true},
		{RoleOperator, RoleContributor, false},
		{RoleContributor, RoleOperator, true},
		{RoleAgent, RoleAgent, true},
		{RoleAgent, RoleReader, false},
		{RoleContributor, RoleAgent, false},
		{RoleAdmin, RoleReader, false},
		{RoleContributor, RoleAdmin, false},
		{RoleAgent, RoleAdmin, false},
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleAgent, false},
		{RoleAdmin, RoleAny, true},
		{RoleReader, RoleAny, true},
		{RoleAgent, RoleAny, false},
		{"", RoleAny, false},
	} {
		if got := Allows(tc.role, tc.need); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tc.role, tc.need, got, tc.want)
		}
	}
}

func TestValidUserRole(t *testing.T) {
	for _, r := range UserRoles {
		if err := ValidUserRole(r); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range []string{RoleAgent, "", "Reader"} {
		if ValidUserRole(r) == nil {
			t.Errorf("%q accepted as a user role", r)
		}
	}
}

// TestRank is the role order the API's authorisation relies on (moved here with the ranking from
// the API's roleRank).
func TestRank(t *testing.T) {
	ordered := rank("") < rank(RoleReader) && rank(RoleReader) < rank(RoleOperator) &&
		rank(RoleOperator) < rank(RoleContributor)
	if !ordered || rank("admin") != 0 {
		t.Fatal("roles out of order")
	}
}

func TestPerson(t *testing.T) {
	for name, want := range map[string]string{
		"alice":                           "alice",
		"ci-deploy@example.com":           "ci-deploy@example.com",
		"oidc:alice@example.com:k3v9x2aq": "oidc:alice@example.com",
		"oidc:alice@example.com:zz8m1c0d": "oidc:alice@example.com",
		"oidc:bob:k3v9x2aq":               "oidc:bob",
		"oidc:nosuffix":                   "oidc:nosuffix",
		"oidc::x":                         "oidc::x",
	} {
		if got := Person(name); got != want {
			t.Errorf("Person(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestValidVaultName(t *testing.T) {
	for _, ok := range []string{"prod", "a", "team-2", "0"} {
		if err := ValidVaultName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Prod", "-a", "a-", "a_b", "a.b", "ü", string(make([]byte, 64))} {
		if ValidVaultName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
