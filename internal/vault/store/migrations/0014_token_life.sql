-- Tokens with a life cycle (docs/design/vault.md, "Tokens"): who made each, what kind it is (a
-- token made through the API, or one the vault minted for a single sign-on), when it expires
-- (NULL: never, for tokens made before expiry existed) and when it was last used. The audit log
-- records where each call came from.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token';
ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE tokens ADD COLUMN last_used_at TIMESTAMP;
ALTER TABLE audit ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_by_time ON audit (at)
