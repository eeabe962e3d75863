-- Reclaiming a seat nobody uses before buying one. A purchase stage for one person's licence
-- lists the holders who have not used Power BI for a while (`reclaim_candidates`, ranked as
-- shown on its approval message). An approver with an assign role may answer with ♻️
-- instead of buying: the first candidate who has not kept their licence is told, and after
-- the grace period the licence moves to the requester in one job (`reclaims`), unless they
-- answer `!pro keep`.
CREATE TABLE reclaim_candidates (
    stage_id       INTEGER NOT NULL REFERENCES stages (id),
    rank           INTEGER NOT NULL,
    upn            TEXT NOT NULL,
    last_sign_in   TEXT,
    last_power_bi  TEXT,
    PRIMARY KEY (stage_id, rank)
);

CREATE TABLE reclaims (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    stage_id       INTEGER NOT NULL REFERENCES stages (id),
    request_id     INTEGER NOT NULL REFERENCES requests (id),
    candidate_upn  TEXT NOT NULL,
    decided_by     TEXT NOT NULL,
    decided_by_upn TEXT,
    state          TEXT NOT NULL CHECK (state IN ('waiting', 'kept', 'moving', 'moved',
                                                  'cancelled')),
    due_at         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX reclaims_one_open_per_stage ON reclaims (stage_id)
    WHERE state IN ('waiting', 'moving');
