package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

func TestTokensAreStoredHashedAndLookedUp(t *testing.T) {
	eachBackend(t, testTokensAreStoredHashedAndLookedUp)
}

func testTokensAreStoredHashedAndLookedUp(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	secret, err := s.CreateToken(ctx, "prod", "alice", access.RoleOperator)
	if err != nil || !strings.HasPrefix(secret, "cairn_") {
		t.Fatalf("token %q: %v", secret, err)
	}
	p, err := s.LookupToken(ctx, secret)
	if err != nil || p != (access.Principal{Vault: "prod", Name: "alice", Role: access.RoleOperator}) {
		t.Fatalf("lookup: %+v %v", p, err)
	}
	if _, err := s.LookupToken(ctx, secret+"x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a wrong token: %v", err)
	}
	var stored int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE hash = $1`, secret).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("the token is stored in the clear (%v)", err)
	}
	if _, err := s.CreateToken(ctx, "prod", "alice", access.RoleReader); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := s.CreateToken(ctx, "prod", "bob", "admin"); err == nil || !strings.Contains(err.Error(), "use reader, operator or contributor") {
		t.Fatalf("unknown role: %v", err)
	}
	if n, err := s.CountTokens(ctx, "prod"); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}
