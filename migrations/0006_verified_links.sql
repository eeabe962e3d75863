-- Verified identity links: a chat account acts for a directory account only after proving
-- that it owns it. A link is 'pending' until proven, then 'verified' with how (sign_in,
-- mail_code, admin) and when. Links made before this migration were never proven: they
-- become pending (the default) and keep a notice flag, so their owners are told at their
-- next command how to verify. Requests already made are not touched.
ALTER TABLE links ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'verified'));
ALTER TABLE links ADD COLUMN method TEXT CHECK (method IN ('sign_in', 'mail_code', 'admin'));
ALTER TABLE links ADD COLUMN verified_at TEXT;
-- The approver who attested an 'admin' link (a chat user id).
ALTER TABLE links ADD COLUMN attested_by TEXT;
-- The directory user's object id: one verified owner per directory account is kept on it,
-- not on the UPN (a UPN can be renamed or written differently).
ALTER TABLE links ADD COLUMN object_id TEXT;
-- The pending proof by mail: the code only as a salted slow hash (argon2id, PHC string),
-- when it expires, wrong tries so far; five wrong tries lock the pending link.
ALTER TABLE links ADD COLUMN code_hash TEXT;
ALTER TABLE links ADD COLUMN code_expires_at TEXT;
ALTER TABLE links ADD COLUMN code_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1));
-- 1 for links that existed before links were verified: their owner has not been told yet.
ALTER TABLE links ADD COLUMN notice INTEGER NOT NULL DEFAULT 1 CHECK (notice IN (0, 1));

CREATE UNIQUE INDEX links_one_verified_owner ON links (object_id) WHERE state = 'verified';

-- Every proof mail sent (or tried), for the rate limits: so many per hour per chat account
-- and per directory account. No code in it.
CREATE TABLE link_mails (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_user  TEXT NOT NULL,
    upn        TEXT NOT NULL,
    sent_at    TEXT NOT NULL
);
CREATE INDEX link_mails_chat_user ON link_mails (chat_user, sent_at);
CREATE INDEX link_mails_upn ON link_mails (upn, sent_at);

-- How the requester's link was proven when the request was made, shown to the approvers
-- ('config' for approvers, whose link is the bot's configuration). NULL on older requests.
ALTER TABLE requests ADD COLUMN requester_link_method TEXT
    CHECK (requester_link_method IN ('sign_in', 'mail_code', 'admin', 'config'));
ALTER TABLE requests ADD COLUMN requester_link_verified_at TEXT;
ALTER TABLE requests ADD COLUMN requester_link_attested_by TEXT;
-- The directory object id of the person a licence request is for: an approver may not decide
-- a stage for their own directory account, checked by object id, not only by UPN or chat id.
ALTER TABLE requests ADD COLUMN target_object_id TEXT;

-- A simulated directory user's mail address (Graph's `mail`); NULL means the UPN.
ALTER TABLE sim_users ADD COLUMN mail TEXT;
