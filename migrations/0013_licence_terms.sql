-- Time-bound licences: an assignment request asked for a term (`!pro request for 30d`, or
-- `[policy] max_duration`). The licence ends `days` after it is given (an extension: after
-- the end of the licence it extends, or now if that is later); the holder is reminded seven
-- days and one day before, and at the end the licence is released. Each step is claimed by
-- setting its column, in the transaction that does it, so it happens once.
CREATE TABLE licence_terms (
    request_id     INTEGER PRIMARY KEY REFERENCES requests (id),
    days           INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650),
    -- The time-bound licence (its request) this one extends, for `!pro extend`.
    extends        INTEGER REFERENCES requests (id),
    ends_at        TEXT,
    reminded_7d_at TEXT,
    reminded_1d_at TEXT,
    ended_at       TEXT
);
