-- Leadership among vault replicas on one database (docs/design/vault.md, "Replicas"): one row per
-- role, held by one replica until expires_at unless it renews.
CREATE TABLE leadership (
    role       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    term       BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL
)
