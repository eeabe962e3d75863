-- Leadership leases: the one instance that holds the Discord gateway (and talks to chat)
-- among several on one PostgreSQL database. `token` is the fencing token: it grows by one
-- each time another holder takes the lease, so a former holder's token is stale. SQLite keeps
-- the same table (one bot per file, with its lock file) so both schemas stay one.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY NOT NULL,
    holder  TEXT NOT NULL,
    token   INTEGER NOT NULL,
    until   TEXT NOT NULL
);
