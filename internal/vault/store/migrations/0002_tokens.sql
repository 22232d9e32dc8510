CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    vault      TEXT NOT NULL REFERENCES vaults(name),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (vault, name)
);
