CREATE TABLE clusters (
    vault              TEXT NOT NULL REFERENCES vaults(name),
    name               TEXT NOT NULL,
    agent_token_hash   TEXT UNIQUE,
    registered_at      TIMESTAMP NOT NULL,
    revoked_at         TIMESTAMP,
    last_heartbeat     TIMESTAMP,
    agent_version      TEXT NOT NULL DEFAULT '',
    kubernetes_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (vault, name)
);

CREATE TABLE instances (
    vault          TEXT NOT NULL,
    name           TEXT NOT NULL,
    cluster        TEXT NOT NULL,
    policy         TEXT NOT NULL,
    backup_config  TEXT NOT NULL,
    storage        TEXT NOT NULL,
    state          TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    last_scheduled TIMESTAMP,
    PRIMARY KEY (vault, name),
    UNIQUE (vault, cluster, policy),
    FOREIGN KEY (vault, cluster) REFERENCES clusters (vault, name),
    FOREIGN KEY (vault, policy) REFERENCES policies (vault, name)
);

CREATE TABLE recovery_points (
    seq            AUTO_ID,
    vault          TEXT NOT NULL,
    name           TEXT NOT NULL,
    instance       TEXT NOT NULL,
    cluster        TEXT NOT NULL,
    completed_at   TIMESTAMP NOT NULL,
    phase          TEXT NOT NULL,
    items          BIGINT NOT NULL,
    raw_bytes      BIGINT NOT NULL,
    stored_bytes   BIGINT NOT NULL,
    namespaces     TEXT NOT NULL,
    volumes        INTEGER NOT NULL,
    volumes_failed INTEGER NOT NULL,
    snapshot_bytes BIGINT NOT NULL,
    on_demand      BOOLEAN NOT NULL,
    expires_at     TIMESTAMP,
    job            BIGINT NOT NULL,
    deleted_at     TIMESTAMP,
    UNIQUE (vault, name)
);

CREATE INDEX recovery_points_by_instance ON recovery_points (vault, instance, seq);

CREATE TABLE jobs (
    id               AUTO_ID,
    vault            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    instance         TEXT NOT NULL,
    cluster          TEXT NOT NULL,
    recovery_point   TEXT NOT NULL,
    state            TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    progress_items   BIGINT NOT NULL DEFAULT 0,
    progress_bytes   BIGINT NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    spec             TEXT NOT NULL,
    result           TEXT,
    lease_key        TEXT,
    lease_expires    TIMESTAMP,
    log_seq          BIGINT NOT NULL DEFAULT 0
);

CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (vault, lease_key) WHERE state = 'running';

CREATE INDEX jobs_by_cluster_state ON jobs (vault, cluster, state, id);

CREATE INDEX jobs_by_instance ON jobs (vault, instance, id);

CREATE TABLE job_logs (
    job     BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    at      TIMESTAMP NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job, seq)
);

CREATE TABLE audit (
    id        AUTO_ID,
    vault     TEXT NOT NULL,
    at        TIMESTAMP NOT NULL,
    principal TEXT NOT NULL,
    role      TEXT NOT NULL,
    operation TEXT NOT NULL,
    object    TEXT NOT NULL,
    status    INTEGER NOT NULL
);

CREATE INDEX audit_by_vault ON audit (vault, id)
