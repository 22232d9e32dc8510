-- The server's administrator's tokens (docs/design/vault.md, "Vaults and the server's
-- administrator"): they belong to no vault, and make, list and delete vaults.
CREATE TABLE admin_tokens (
    hash         TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
)
