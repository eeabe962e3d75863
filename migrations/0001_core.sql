-- licensebot core schema: requests, stages, jobs, the outbox, links, the audit log and the
-- simulated tenant. Timestamps are UTC RFC 3339 with milliseconds, so text order is time order.

CREATE TABLE links (
    chat_user  TEXT PRIMARY KEY NOT NULL,
    upn        TEXT NOT NULL,
    linked_at  TEXT NOT NULL
);

CREATE TABLE approver_status (
    chat_user  TEXT PRIMARY KEY NOT NULL,
    away       INTEGER NOT NULL DEFAULT 0 CHECK (away IN (0, 1)),
    updated_at TEXT NOT NULL
);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('assign', 'purchase', 'release', 'revoke')),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'executing', 'completed',
                                                   'denied', 'cancelled', 'expired', 'failed')),
    requester       TEXT NOT NULL,
    requester_upn   TEXT,
    target_upn      TEXT,
    target_name     TEXT,
    quantity        INTEGER,
    billing_cycle   TEXT CHECK (billing_cycle IN ('monthly', 'annual')),
    reason          TEXT,
    origin_channel  TEXT,
    origin_message  TEXT,
    outcome         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX requests_state ON requests (state);
CREATE INDEX requests_requester ON requests (requester, state);
-- At most one open licence request (assign, release or revoke) per directory user.
CREATE UNIQUE INDEX requests_one_open_per_target ON requests (target_upn)
    WHERE state IN ('pending', 'approved', 'executing') AND kind <> 'purchase';

CREATE TABLE stages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id       INTEGER NOT NULL REFERENCES requests (id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('purchase', 'assign', 'unassign')),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'executing', 'completed',
                                                    'denied', 'cancelled', 'expired', 'failed')),
    -- A stage of another request that must complete first (an assignment waiting on the
    -- purchase that was opened for a batch).
    depends_on       INTEGER REFERENCES stages (id),
    quantity         INTEGER,
    unit_price       REAL,
    billing_cycle    TEXT CHECK (billing_cycle IN ('monthly', 'annual')),
    approval_message TEXT,
    decided_by       TEXT,
    decided_by_upn   TEXT,
    decided_at       TEXT,
    decision_note    TEXT,
    body             TEXT NOT NULL DEFAULT '',
    routed_to        TEXT NOT NULL DEFAULT '[]',
    routed_at        TEXT NOT NULL,
    reminded_at      TEXT,
    escalated_at     TEXT,
    UNIQUE (request_id, seq)
);
CREATE INDEX stages_state ON stages (state);
CREATE UNIQUE INDEX stages_approval_message ON stages (approval_message)
    WHERE approval_message IS NOT NULL;

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    stage_id         INTEGER NOT NULL UNIQUE REFERENCES stages (id),
    kind             TEXT NOT NULL CHECK (kind IN ('purchase', 'assign', 'unassign')),
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_owner      TEXT,
    lease_until      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, next_attempt_at);

-- Every call the bot made to a licensing backend, with its result.
CREATE TABLE backend_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER REFERENCES jobs (id),
    request_id  INTEGER REFERENCES requests (id),
    operation   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    backend_ref TEXT,
    at          TEXT NOT NULL
);

-- Messages the bot owes people, written in the same transaction as the change they report
-- and delivered in id order; nothing said is lost if the process stops.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    action           TEXT NOT NULL CHECK (action IN ('send', 'dm', 'edit', 'react', 'unreact')),
    channel          TEXT,
    chat_user        TEXT,
    message_id       TEXT,
    stage_id         INTEGER REFERENCES stages (id),
    reply_to         TEXT,
    emoji            TEXT,
    content          TEXT,
    fallback_channel TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    delivered_at     TEXT,
    delivered_id     TEXT,
    gave_up_at       TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Append-only, hash-chained audit log.
CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   INTEGER,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_request ON audit_events (request_id, id);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TABLE kv (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- The simulated tenant: seeded from configuration, changed only by the bot's own calls.
CREATE TABLE sim_skus (
    sku_part_number    TEXT PRIMARY KEY NOT NULL,
    sku_id             TEXT NOT NULL,
    enabled            INTEGER NOT NULL CHECK (enabled >= 0),
    unit_price_monthly REAL NOT NULL,
    service_plans      TEXT NOT NULL
);

CREATE TABLE sim_users (
    upn             TEXT PRIMARY KEY NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    usage_location  TEXT,
    user_type       TEXT NOT NULL,
    account_enabled INTEGER NOT NULL,
    roles           TEXT NOT NULL
);

CREATE TABLE sim_assignments (
    upn             TEXT NOT NULL REFERENCES sim_users (upn),
    sku_part_number TEXT NOT NULL,
    assigned_at     TEXT NOT NULL,
    PRIMARY KEY (upn, sku_part_number)
);

CREATE TABLE sim_purchases (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    sku_part_number TEXT NOT NULL,
    from_seats      INTEGER NOT NULL,
    to_seats        INTEGER NOT NULL,
    billing_cycle   TEXT NOT NULL,
    at              TEXT NOT NULL
);
