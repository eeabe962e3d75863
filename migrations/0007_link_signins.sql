-- The proof of a link by signing in to Microsoft Entra, one row per attempt. The bot hands a
-- chat user a one-time start link; the start makes a `state` for the identity provider; a
-- sign-in whose token names the linked directory user makes a confirm token for the page that
-- asks the person to confirm. Each token is kept only as a SHA-256 hash (they are random
-- 256-bit values), is single use and lives ten minutes. The nonce and the PKCE verifier are
-- kept until the attempt ends, then cleared.
CREATE TABLE link_signins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_user     TEXT NOT NULL,
    -- The name the chat user goes by, shown on the confirm page.
    chat_name     TEXT NOT NULL,
    upn           TEXT NOT NULL,
    stage         TEXT NOT NULL CHECK (stage IN ('issued', 'started', 'proven', 'done', 'failed')),
    start_hash    TEXT NOT NULL UNIQUE,
    state_hash    TEXT UNIQUE,
    confirm_hash  TEXT UNIQUE,
    nonce         TEXT,
    verifier      TEXT,
    object_id     TEXT,
    created_at    TEXT NOT NULL,
    stage_at      TEXT NOT NULL
);
CREATE INDEX link_signins_chat_user ON link_signins (chat_user, stage);
