-- Groups of the simulated tenant and Entra ID's group-based licensing: a group's licences go
-- to its members. `assignments` keeps the direct assignments only; a member's licence from a
-- group is a row of `group_assignments` in state 'Active'. A user holds a SKU while any source
-- gives it, and consumes one seat of it whatever the number of sources.

CREATE TABLE groups (
    -- The object id, a GUID in lower case.
    id               TEXT PRIMARY KEY NOT NULL,
    display_name     TEXT NOT NULL,
    -- groupTypes has DynamicMembership / Unified; mailEnabled; securityEnabled;
    -- isAssignableToRole; onPremisesSyncEnabled.
    dynamic          INTEGER NOT NULL DEFAULT 0,
    unified          INTEGER NOT NULL DEFAULT 0,
    mail_enabled     INTEGER NOT NULL DEFAULT 0,
    security_enabled INTEGER NOT NULL DEFAULT 1,
    role_assignable  INTEGER NOT NULL DEFAULT 0,
    synced           INTEGER NOT NULL DEFAULT 0
);

-- The SKUs a group assigns (Graph: the group's assignedLicenses).
CREATE TABLE group_skus (
    group_id        TEXT NOT NULL REFERENCES groups (id),
    sku_part_number TEXT NOT NULL REFERENCES skus (sku_part_number),
    PRIMARY KEY (group_id, sku_part_number)
);

CREATE TABLE group_owners (
    group_id TEXT NOT NULL REFERENCES groups (id),
    upn      TEXT NOT NULL REFERENCES users (upn),
    PRIMARY KEY (group_id, upn)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    upn      TEXT NOT NULL REFERENCES users (upn),
    added_at TEXT NOT NULL,
    PRIMARY KEY (group_id, upn)
);

CREATE INDEX group_members_by_user ON group_members (upn);

-- How each of a group's SKUs stands for each member (Graph: licenseAssignmentStates with
-- assignedByGroup): 'Active' holds it; 'Error' does not, for the reason `error` gives in
-- Microsoft's word (CountViolation, ...). It goes with the membership.
CREATE TABLE group_assignments (
    group_id        TEXT NOT NULL,
    upn             TEXT NOT NULL,
    sku_part_number TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('Active', 'Error')),
    error           TEXT CHECK ((state = 'Active') = (error IS NULL)),
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (group_id, upn, sku_part_number),
    FOREIGN KEY (group_id, upn) REFERENCES group_members (group_id, upn) ON DELETE CASCADE
);

CREATE INDEX group_assignments_by_user ON group_assignments (upn);
CREATE INDEX group_assignments_by_sku ON group_assignments (sku_part_number, state);
