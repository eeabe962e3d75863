-- The simulated tenant's own database: the embedded default backend's Microsoft 365, kept in
-- a file of its own beside the bot's store (`<store>.simulated-tenant.<ext>`), so the bot's
-- production schema holds nothing of it. Seeded from `[backend.simulated]`, changed only by
-- the bot's own calls (and by an admin editing it, as in the Microsoft 365 admin center).
-- Until migration 0010 of the bot's store, these tables lived there as `sim_*`; the store
-- carries their rows over here before that migration drops them.

CREATE TABLE skus (
    sku_part_number    TEXT PRIMARY KEY NOT NULL,
    sku_id             TEXT NOT NULL,
    enabled            INTEGER NOT NULL CHECK (enabled >= 0),
    unit_price_monthly REAL NOT NULL,
    service_plans      TEXT NOT NULL
);

CREATE TABLE users (
    upn             TEXT PRIMARY KEY NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    usage_location  TEXT,
    user_type       TEXT NOT NULL,
    account_enabled INTEGER NOT NULL,
    roles           TEXT NOT NULL,
    -- Graph's `mail`; NULL means the UPN.
    mail            TEXT
);

CREATE TABLE assignments (
    upn             TEXT NOT NULL REFERENCES users (upn),
    sku_part_number TEXT NOT NULL,
    assigned_at     TEXT NOT NULL,
    PRIMARY KEY (upn, sku_part_number)
);

CREATE TABLE purchases (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    sku_part_number TEXT NOT NULL,
    from_seats      INTEGER NOT NULL,
    to_seats        INTEGER NOT NULL,
    billing_cycle   TEXT NOT NULL,
    at              TEXT NOT NULL
);
