CREATE TABLE vaults (
    name       TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE policies (
    vault      TEXT NOT NULL REFERENCES vaults(name),
    name       TEXT NOT NULL,
    schedule   TEXT NOT NULL,
    retention  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (vault, name)
);
