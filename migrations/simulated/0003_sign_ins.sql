-- Sign-ins of the simulated tenant's users, for reclaiming seats nobody uses: the last sign-in
-- to anything (Graph: the user's signInActivity) and the last to the Power BI service (Graph:
-- the sign-in logs), NULL when none is on record. Seeded from [[backend.simulated.users]]: a
-- value already here wins, a missing one is filled in.

CREATE TABLE sign_ins (
    upn                   TEXT PRIMARY KEY NOT NULL REFERENCES users (upn),
    last_sign_in          TEXT,
    last_power_bi_sign_in TEXT
);

-- When the tenant was first seeded: a sign-in configured as a duration ("90d") counts back
-- from it, so the tenant stays as it was made however long ago that was. A file seeded before
-- this migration takes the first start after it.
CREATE TABLE seeding (
    id              INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    first_seeded_at TEXT NOT NULL
);
