package store

import (
	"errors"
	"strings"
	"testing"
	"time"

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
	secret, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "alice", Role: access.RoleOperator})
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
	if _, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "alice", Role: access.RoleReader}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "bob", Role: "admin"}); err == nil || !strings.Contains(err.Error(), "use reader, operator or contributor") {
		t.Fatalf("unknown role: %v", err)
	}
	if n, err := s.CountTokens(ctx, "prod"); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}

func TestTokensHaveALifeCycle(t *testing.T) {
	eachBackend(t, testTokensHaveALifeCycle)
}

func testTokensHaveALifeCycle(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.EnsureVault(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	expires := s.now().Add(time.Hour)
	admin, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "admin", Role: access.RoleContributor})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "ci", Role: access.RoleContributor, CreatedBy: "admin", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, ci); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTokens(ctx, "prod")
	if err != nil || len(list) != 2 || list[1].Name != "ci" || list[1].CreatedBy != "admin" || list[1].Kind != TokenKindToken ||
		list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(expires) || list[1].LastUsedAt == nil || list[0].LastUsedAt != nil {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "Bad Name", Role: access.RoleReader}); err == nil {
		t.Error("a bad name was taken")
	}
	if _, err := s.CreateToken(ctx, "prod", TokenSpec{Name: "oidc:alice:1", Role: access.RoleReader, Kind: TokenKindSSO}); err != nil {
		t.Errorf("an SSO token: %v", err)
	}
	if err := s.RevokeToken(ctx, "prod", "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, ci); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a revoked token: %v", err)
	}
	if err := s.RevokeToken(ctx, "prod", "admin"); !errors.Is(err, ErrConflict) {
		t.Fatalf("the last contributor token: %v", err)
	}
	if _, err := s.LookupToken(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, "prod", AuditEntry{Principal: "admin", Operation: "x", Status: 200, Source: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneAudit(ctx, s.now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune nothing: %d %v", n, err)
	}
	if n, err := s.PruneAudit(ctx, s.now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}

func TestExpiredTokensAreRefused(t *testing.T) {
	now := fixedClock()
	s, err := OpenSQLite(t.Context(), t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.EnsureVault(t.Context(), "prod"); err != nil {
		t.Fatal(err)
	}
	secret, err := s.CreateToken(t.Context(), "prod", TokenSpec{Name: "ci", Role: access.RoleReader, ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	_, err = s.LookupToken(t.Context(), secret)
	if expired, ok := errors.AsType[*TokenExpiredError](err); !ok || expired.Principal.Name != "ci" {
		t.Fatalf("an expired token: %v", err)
	}
}
