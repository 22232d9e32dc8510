package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// IssueOptions say which token to make from the server's host.
type IssueOptions struct {
	// DataDir and Database locate the vault's database, as for Serve.
	DataDir, Database string
	Vault             string
	Name, Role        string
	// Admin makes a token of the server's administrator (Vault and Role are then ignored).
	Admin bool
	// Lifetime is how long the token works.
	Lifetime time.Duration
	Now      func() time.Time
}

// IssuedBy is the creator a token made from the server's host is recorded with.
const IssuedBy = "server host (cairn vault issue-token)"

// IssueToken makes a token straight in the vault's database, without a token: the way back in
// for whoever can read the database when every contributor token has expired or been lost. It
// works beside a running vault (SQLite takes concurrent writers in turn).
func IssueToken(ctx context.Context, o IssueOptions) (string, time.Time, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lifetime <= 0 {
		return "", time.Time{}, errors.New("--expires-in: give a positive duration, e.g. 1d")
	}
	if o.Database == "" {
		if _, err := os.Stat(filepath.Join(o.DataDir, store.SQLiteFile)); err != nil {
			return "", time.Time{}, fmt.Errorf("no vault database in %s (%w): give the vault's --data-dir, or --database for PostgreSQL", o.DataDir, err)
		}
	}
	st, err := store.Open(ctx, o.Database, o.DataDir, o.Now)
	if err != nil {
		return "", time.Time{}, err
	}
	defer st.Close()
	expires := o.Now().Add(o.Lifetime).UTC().Truncate(time.Second)
	if o.Admin {
		secret, err := st.CreateAdminToken(ctx, store.TokenSpec{Name: o.Name, CreatedBy: IssuedBy, ExpiresAt: expires})
		return secret, expires, err
	}
	vaults, err := st.Vaults(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	if !slices.Contains(vaults, o.Vault) {
		return "", time.Time{}, fmt.Errorf("vault %q is not in this database (it has %v): give --vault", o.Vault, vaults)
	}
	secret, err := st.CreateToken(ctx, o.Vault, store.TokenSpec{Name: o.Name, Role: o.Role, CreatedBy: IssuedBy, ExpiresAt: expires})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("vault %q: %w", o.Vault, err)
	}
	return secret, expires, nil
}
