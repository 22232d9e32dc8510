-- Backup center sessions every replica finds (docs/design/vault.md, "Replicas"): keyed by a hash
-- of the cookie's secret, the API token sealed under a key derived from it.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    vault        TEXT NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    sso          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL,
    last_seen    TIMESTAMP NOT NULL
);

CREATE INDEX sessions_by_last_seen ON sessions (last_seen);

-- Keys every replica shares, made by the first that needs one.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
