-- Multi-person approval (docs/design/vault.md, "Approvals"): a destructive call held until a
-- second contributor approves it, with the request to replay and its outcome.
CREATE TABLE approvals (
    id             AUTO_ID,
    vault          TEXT NOT NULL,
    operation      TEXT NOT NULL,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    body           TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_at   TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    state          TEXT NOT NULL,
    decided_by     TEXT NOT NULL DEFAULT '',
    decided_at     TIMESTAMP,
    result_status  INTEGER NOT NULL DEFAULT 0,
    result_message TEXT NOT NULL DEFAULT ''
);

CREATE INDEX approvals_by_vault ON approvals (vault, id)
