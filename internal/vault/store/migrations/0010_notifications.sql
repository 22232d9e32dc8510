-- Notifications (docs/design/monitoring.md, "Notifications").
-- events: what happened in a vault that someone may want to hear of, written in the transaction
-- that made it happen (a job's end) or by the vault's watcher (an objective breached, an agent
-- gone). key makes an event happen once however many vault processes see it.
CREATE TABLE events (
    id             AUTO_ID,
    vault          TEXT NOT NULL,
    type           TEXT NOT NULL,
    event_key      TEXT NOT NULL,
    at             TIMESTAMP NOT NULL,
    instance       TEXT NOT NULL,
    cluster        TEXT NOT NULL,
    job            BIGINT NOT NULL,
    recovery_point TEXT NOT NULL,
    summary        TEXT NOT NULL,
    details        TEXT NOT NULL,
    routed         BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (vault, event_key)
);

CREATE INDEX events_unrouted ON events (routed, id);

-- notification_rules: which events of a vault go to which channel.
CREATE TABLE notification_rules (
    vault      TEXT NOT NULL,
    name       TEXT NOT NULL,
    events     TEXT NOT NULL,
    channel    TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (vault, name)
);

-- deliveries: one event sent through one rule's channel, with its attempts (the delivery log).
CREATE TABLE deliveries (
    id            AUTO_ID,
    vault         TEXT NOT NULL,
    rule          TEXT NOT NULL,
    event         BIGINT NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    next_attempt  TIMESTAMP,
    last_error    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    delivered_at  TIMESTAMP,
    UNIQUE (vault, rule, event)
);

CREATE INDEX deliveries_due ON deliveries (state, next_attempt);
