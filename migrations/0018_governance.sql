-- Governance of money: the two-person rule, the monthly budget and the purchase ledger.
--
-- A purchase stage above `[policy] two_person_above_seats` or `two_person_above_cost` needs
-- two approvals by two different people (`approvals_needed`); the first is kept in
-- `stage_approvals` until the second comes (a restart in between loses nothing). A purchase
-- that would pass `[policy] monthly_budget` is routed to the over-budget roles, and
-- `over_budget` keeps by how much it went over when it was posted.
ALTER TABLE stages ADD COLUMN approvals_needed INTEGER NOT NULL DEFAULT 1
    CHECK (approvals_needed IN (1, 2));
ALTER TABLE stages ADD COLUMN over_budget REAL;

CREATE TABLE stage_approvals (
    stage_id     INTEGER NOT NULL REFERENCES stages (id),
    approver     TEXT NOT NULL,
    approver_upn TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (stage_id, approver),
    UNIQUE (stage_id, approver_upn)
);

-- What the bot bought: one row per purchase stage carried out (seats added, at the monthly
-- price shown on its approval), written with the job's success. Spend per month is read
-- from here; a seat moved instead of bought is no purchase.
CREATE TABLE purchases (
    stage_id     INTEGER PRIMARY KEY NOT NULL REFERENCES stages (id),
    request_id   INTEGER NOT NULL REFERENCES requests (id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    unit_price   REAL NOT NULL CHECK (unit_price >= 0),
    billing_cycle TEXT NOT NULL CHECK (billing_cycle IN ('monthly', 'annual')),
    at           TEXT NOT NULL
);
CREATE INDEX purchases_at ON purchases (at);
