-- Reactions seen on approval messages, one row per (message, user, emoji), so that an event
-- the gateway replays after a resume, or that the catch-up finds again after a restart, is
-- applied once: a replayed add is a no-op, a remove followed by an add is a new event.
-- `settled` is 0 while the event is being applied; a process that dies before it settles
-- leaves the row unsettled, and start-up reverts such rows so the catch-up applies them.
CREATE TABLE seen_reactions (
    message_id TEXT NOT NULL,
    chat_user  TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    present    INTEGER NOT NULL CHECK (present IN (0, 1)),
    settled    INTEGER NOT NULL CHECK (settled IN (0, 1)),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (message_id, chat_user, emoji)
);
CREATE INDEX seen_reactions_unsettled ON seen_reactions (settled) WHERE settled = 0;
