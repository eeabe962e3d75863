-- Drift: where the bot's records and the tenant differ, as the reconciler last found them.
-- A difference stays open while it is found again (keyed by kind, person and request) and is
-- resolved when a check no longer finds it, or when the bot corrected its own records.
CREATE TABLE drift (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('missing_licence', 'unexplained_licence',
                                              'seat_count', 'membership', 'stuck_request')),
    upn         TEXT,
    request_id  INTEGER REFERENCES requests (id),
    detail      TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    resolved_at TEXT,
    -- What resolved it: 'gone' (no longer found) or 'corrected' (the bot's records changed).
    resolution  TEXT CHECK (resolution IN ('gone', 'corrected'))
);
CREATE UNIQUE INDEX drift_one_open ON drift (key) WHERE resolved_at IS NULL;

-- The one drift report posted in the approvals channel (its outbox row, for edits) and what
-- it said last.
ALTER TABLE bot_state ADD COLUMN drift_outbox_id INTEGER;
ALTER TABLE bot_state ADD COLUMN drift_report TEXT;
ALTER TABLE bot_state ADD COLUMN drift_checked_at TEXT;

-- Licences the bot granted that the tenant showed gone: the request no longer explains a
-- licence (the reconciler corrected its records).
CREATE TABLE licence_ends (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id),
    upn        TEXT NOT NULL,
    at         TEXT NOT NULL
);
