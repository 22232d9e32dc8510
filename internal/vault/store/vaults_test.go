package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

func TestVaultsMadeListedAndDeleted(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		if err := st.CreateVault(ctx, "prod"); !errors.Is(err, ErrExists) {
			t.Fatalf("a taken name: %v", err)
		}
		if err := st.CreateVault(ctx, "Prod_2"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an invalid name: %v", err)
		}
		if err := st.CreateVault(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
		protect(t, st, "east", "shop")
		if _, err := st.CreateToken(ctx, "prod", TokenSpec{Name: "ci", Role: access.RoleOperator}); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListVaults(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "dev" || list[1].Name != "prod" || list[1].Clusters != 1 || list[1].Instances != 1 || list[1].Tokens != 1 || list[0].Tokens != 0 {
			t.Fatalf("vaults: %+v", list)
		}

		err = st.DeleteVault(ctx, "prod")
		if !errors.Is(err, ErrConflict) || !contains(err.Error(), "1 instance(s)", "1 registered cluster(s)") {
			t.Fatalf("deleting a vault with an instance: %v", err)
		}
		if _, err := st.SetInstanceState(ctx, "prod", "shop", vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteInstance(ctx, "prod", "shop"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RevokeCluster(ctx, "prod", "east"); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendAudit(ctx, "prod", AuditEntry{Principal: "admin", Role: access.RoleContributor, Operation: "DELETE /x", Status: 204}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteVault(ctx, "prod"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteVault(ctx, "prod"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleting it again: %v", err)
		}
		if vaults, err := st.Vaults(ctx); err != nil || !slices.Equal(vaults, []string{"dev"}) {
			t.Fatalf("after deleting prod: %v, %v", vaults, err)
		}
		// Nothing of it is left in any table with a vault column.
		for _, table := range vaultTables {
			var n int
			if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE vault = 'prod'`).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d rows of the deleted vault, %v", table, n, err)
			}
		}
		// The name can be used again.
		if err := st.CreateVault(ctx, "prod"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVaultTablesAreEveryTableWithAVault keeps the list deleting a vault walks complete: a table
// added with a vault column and not listed would keep a deleted vault's rows.
func TestVaultTablesAreEveryTableWithAVault(t *testing.T) {
	st, err := OpenSQLite(t.Context(), t.TempDir(), fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.db.QueryContext(t.Context(), `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'vault' ORDER BY m.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(vaultTables, table) {
			t.Errorf("table %s has a vault column but is not in vaultTables: deleting a vault would leave its rows", table)
		}
	}
}

func TestAdminTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		if _, err := st.CreateAdminToken(ctx, TokenSpec{Name: "root"}); err == nil {
			t.Fatal("an administrator token without an expiry was made")
		}
		secret, err := st.CreateAdminToken(ctx, TokenSpec{Name: "root", ExpiresAt: fixedClock().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateAdminToken(ctx, TokenSpec{Name: "root", ExpiresAt: fixedClock().Add(time.Hour)}); !errors.Is(err, ErrExists) {
			t.Fatalf("a second token of that name: %v", err)
		}
		p, err := st.LookupToken(ctx, secret)
		if err != nil || p != (access.Principal{Name: "root", Role: access.RoleAdmin}) {
			t.Fatalf("lookup: %+v, %v", p, err)
		}
		if n, err := st.CountAdminTokens(ctx); err != nil || n != 1 {
			t.Fatalf("count: %d, %v", n, err)
		}
		expired, err := st.CreateAdminToken(ctx, TokenSpec{Name: "old", ExpiresAt: fixedClock()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupToken(ctx, expired); !errors.As(err, new(*TokenExpiredError)) {
			t.Fatalf("an expired administrator token: %v", err)
		}
	})
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
